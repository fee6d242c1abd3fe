package engine

// Results and progress: stopping a run, aborting what runs, and the
// events sent to the Observer.

import (
	"fmt"
	"time"
)

func (e *engine) stop(reason string) {
	if e.stopReason == "" {
		e.stopReason = reason
	}
}

// abortAll ends every running transfer and every waiting retry: each is
// reported interrupted with the reason the run stopped, and keeps its NAME.part
// (with what a resume needs) so that -c can continue it. Entries taken
// from the input but not started (waiting for their host, or still in the
// batch) are reported "not started": every entry taken gets its result.
func (e *engine) abortAll() {
	for j := range e.sch.splits {
		e.abortSplit(j)
	}
	for _, t := range e.active {
		j := t.job
		got := t.x.bytes()
		j.received += got
		kept := false
		if t.x.state() == stateWriting && !t.x.tmpfile() && t.x.keep() {
			if t.x.restarted() {
				j.offset = got
			} else {
				j.offset += got
			}
			j.setValidator(responseValidator(t.easy.GetHandle()))
			kept = true
		}
		if !kept && j.offset == 0 {
			t.x.discard()
			e.dropPart(j)
		}
		e.removeTransfer(t)
		e.abortJob(j)
	}
	for _, j := range e.sch.retries {
		e.abortJob(j)
	}
	e.sch.retries = nil
	for _, j := range e.sch.waiting {
		e.setState(j, stDone)
		e.result(NotStarted(j.entry, e.stopReason))
	}
	e.sch.waiting = nil
	for ; e.bi < len(e.batch); e.bi++ {
		e.result(NotStarted(e.batch[e.bi], e.stopReason))
		e.batch[e.bi] = Entry{}
	}
}

func (e *engine) abortJob(j *job) {
	if j.offset > 0 {
		e.writeMeta(j)
	}
	j.last.CurlCode = 0
	j.last.Error = "aborted: " + e.stopReason
	if j.offset > 0 {
		j.last.Error += fmt.Sprintf(" (%d bytes kept in %s for -c)", j.offset, j.entry.Path+PartSuffix)
	}
	e.end(j, StatusInterrupted)
}

func (e *engine) result(r Result) {
	switch r.Status {
	case StatusOK:
		e.stats.OK++
	case StatusSkipped:
		e.stats.Skipped++
	case StatusInvalid:
		e.stats.Invalid++
	case StatusInterrupted:
		e.stats.Unfinished++
	default:
		e.stats.Failed++
	}
	e.stats.Bytes += r.Bytes
	e.doneBytes += r.Bytes
	e.obs.Result(r)
	if e.cfg.FailFast && (r.Status == StatusFailed || r.Status == StatusInvalid) && e.stopReason == "" {
		e.stop("--fail-fast after " + r.Source + " failed")
		e.stats.FailFast = true
	}
	e.maybeProgress(true)
}

func (e *engine) progress() Progress {
	b := e.doneBytes
	for _, t := range e.active {
		b += t.job.received + t.x.bytes()
	}
	for _, j := range e.sch.retries {
		b += j.received
	}
	return Progress{Done: e.stats.Done(), Active: len(e.active), Bytes: b}
}

// maybeProgress reports at most every 50 ms; observers draw from it.
func (e *engine) maybeProgress(force bool) {
	now := time.Now()
	if !force && now.Sub(e.lastProg) < 50*time.Millisecond {
		return
	}
	if force && now.Sub(e.lastProg) < 10*time.Millisecond {
		return
	}
	e.lastProg = now
	e.obs.Progress(e.progress())
}
