package engine

// Results and progress: stopping a run, aborting what runs, and the
// events sent to the Observer.

import (
	"fmt"
	"time"

	curl "github.com/andelf/go-curl"
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
	clear(e.sch.queued)
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
	case StatusUnchanged:
		e.stats.Unchanged++
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
	p := Progress{Done: e.stats.Done(), Active: len(e.active), Bytes: e.doneBytes}
	for _, j := range e.sch.retries {
		p.Bytes += j.received
	}
	p.Expected = p.Bytes
	var largest [MaxLargest]FileProgress
	n := 0
	add := func(f FileProgress, got int64) {
		p.Running++
		p.Bytes += got
		p.Expected += got
		if f.Size < 0 {
			p.Unsized++
		} else {
			p.Expected += max(f.Size-f.Bytes, 0)
		}
		n = keepLargest(&largest, n, f)
	}
	// A split download is one file: its ranges' bytes are added to the
	// job's, which counts the ranges already ended once.
	for j := range e.sch.splits {
		f := FileProgress{Path: j.entry.Path, Size: j.total}
		got := j.received
		for _, s := range j.segs {
			f.Bytes += s.done
			if s.t != nil {
				f.Bytes += s.t.x.bytes()
				got += s.t.x.bytes()
			}
		}
		add(f, got)
	}
	for _, t := range e.active {
		if t.seg == nil {
			add(FileProgress{Path: t.job.entry.Path, Bytes: t.x.position(), Size: e.fileSize(t)}, t.job.received+t.x.bytes())
		}
	}
	if n > 0 {
		p.Largest = append([]FileProgress(nil), largest[:n]...)
	}
	return p
}

// fileSize is the whole size of t's file: where its response starts (a
// resume's offset) plus its Content-Length; -1 before the headers, without
// a Content-Length, and for a body libcurl decodes (its length is that of
// the encoded body).
func (e *engine) fileSize(t *transfer) int64 {
	if e.cfg.Compressed || t.x.state() != stateWriting {
		return -1
	}
	v, err := t.easy.Getinfo(curl.INFO_CONTENT_LENGTH_DOWNLOAD)
	cl, _ := v.(float64)
	if err != nil || cl < 0 {
		return -1
	}
	return t.x.position() - t.x.bytes() + int64(cl)
}

// keepLargest inserts f into the n files of l, kept largest first (by
// size, by bytes when the size is unknown), and returns the new count.
func keepLargest(l *[MaxLargest]FileProgress, n int, f FileProgress) int {
	key := func(f FileProgress) int64 { return max(f.Size, f.Bytes) }
	i := n
	for i > 0 && key(l[i-1]) < key(f) {
		i--
	}
	if i == MaxLargest {
		return n
	}
	n = min(n+1, MaxLargest)
	copy(l[i+1:n], l[i:n-1])
	l[i] = f
	return n
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
