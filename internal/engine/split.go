package engine

// Split downloads: one file fetched as byte ranges at once.

import (
	"errors"
	"fmt"
	"slices"
	"time"

	curl "github.com/andelf/go-curl"
)

// A split download fetches one file as several byte ranges at once, each on
// its own easy handle in the same multi handle, each writing its range of
// the shared NAME.part with pwrite. It starts as an ordinary transfer (the
// probe); once the probe's response shows a size of at least MinSplitSize,
// byte ranges and a validator, the rest of the file is divided: the probe
// stops where it is, and new transfers take the ranges, each asking for
// exactly its range with If-Range. A range that fails is retried alone,
// from where it stopped, and one that lags is cut in two when another
// finishes (rebalance). The entry holds one -j slot and gets one Result.

// segment is one byte range [start, end) of a split download; done bytes
// of it, from start, are on disk.
type segment struct {
	start, end int64
	done       int64
	t          *transfer // running transfer, nil when none
	attempts   int
	due        time.Time // when a failed segment may try again
	probe      bool      // the bytes the first transfer got before the split
	// mirror is the URL the range is fetched from: 0 for the job's
	// rangeURL, i for the job's i-th URL (1: Entry.URL; mirrors.go).
	mirror int
}

func (s *segment) finished() bool { return s.start+s.done >= s.end }

// minSegment keeps ranges from getting so small that a connection's set-up
// costs more than the data it brings.
const minSegment = 256 << 10

// checkSplits looks for probes whose response allows a split.
func (e *engine) checkSplits() {
	if e.cfg.Split < 2 {
		return
	}
	var probes []*transfer
	for _, t := range e.active {
		if t.seg == nil && t.job.segs == nil && t.job.splitting == splitMaybe && t.x.splittable() && t.x.state() == stateWriting {
			probes = append(probes, t)
		}
	}
	for _, t := range probes {
		e.split(t)
	}
}

func (e *engine) split(t *transfer) {
	j := t.job
	j.splitting = splitNo // decided once, either way
	h := t.easy.GetHandle()
	validator := responseValidator(h)
	if validator == "" {
		return // without a validator, ranges could mix two versions
	}
	total := t.x.total()
	pos := t.x.position()
	n := int64(e.cfg.Split)
	if rest := total - pos; rest/n < minSegment {
		n = max(rest/minSegment, 1)
	}
	if n < 2 {
		return
	}
	j.setRangeURL(getString(t.easy, curl.INFO_EFFECTIVE_URL))
	if e.cfg.ContentDisposition && j.entry.NamedByURL {
		j.cdName = contentDispositionName(header(h, "Content-Disposition"))
	}
	j.splitting, j.total = splitYes, total
	j.setValidator(validator)
	e.noteRemote(j, h)
	// The probe stops where it is, and n new transfers take the rest as
	// ranges. Keeping the probe on for a range of its own saves a
	// connection but made it the last to finish against nginx's limit_rate:
	// a full response is paced in bursts of sendfile_max_chunk counted
	// from the headers, so its range rarely ends on a burst, while a range
	// response does, and every range gets a burst at once.
	probe := &segment{start: 0, end: pos, t: t, attempts: 1, probe: true}
	t.seg = probe
	t.x.setLimit(pos)
	j.segs = append(j.segs, probe)
	chunk := (total - pos) / n
	for cut, i := pos, int64(0); i < n; i++ {
		end := cut + chunk
		if i == n-1 {
			end = total
		}
		j.segs = append(j.segs, &segment{start: cut, end: end, mirror: j.spreadURL(int(i))})
		cut = end
	}
	// The entry now holds its slot as a split download, not as the probe.
	// The probe still counts for its host until it ends: the first range
	// then takes its connection, and others as the host has room.
	e.plain--
	if t.stream {
		// As a range it counts as a connection of its own.
		e.sch.mux.release(t.host)
		t.stream = false
	}
	e.sch.splits[j] = struct{}{}
	e.setState(j, stSplit)
	e.writeMeta(j)
	e.startRangesOf(j)
}

// startSplitJob resumes a split download from its .meta (-c): every range
// not yet finished starts at once.
func (e *engine) startSplitJob(j *job) {
	e.sch.splits[j] = struct{}{}
	e.setState(j, stSplit)
	e.startRangesOf(j)
	if e.splitDone(j) {
		e.finishSplit(j)
	}
}

// completeSegment acts on the end of one range's transfer.
func (e *engine) completeSegment(t *transfer, code int) {
	j, s, x := t.job, t.seg, t.x
	f := e.facts(t, code)
	a := e.attemptOf(t, f.got)
	j.received += f.got
	// A range keeps what it wrote, whatever follows.
	f.kept = f.state != stateWriting || x.keep()
	if f.state == stateWriting && f.kept {
		s.done += f.got
	}
	if !f.kept {
		f.ioErr = x.ioError().Error()
	}
	f.from, f.end, f.start = s.start+s.done, s.end, s.start
	f.limitHit, f.finished = x.limitHit(), s.finished()
	f.attempts = s.attempts
	if f.needsHeaders() {
		f.hdr = readHeaders(t)
	}
	v := classify(f)
	ttfb := getSeconds(t.easy, curl.INFO_STARTTRANSFER_TIME) // what this range took to get its first byte
	if v.kind == vOK && j.segURL == "" {
		// A split download resumed with -c fetches its ranges from the
		// entry's URL (redirects followed): where they came from is the
		// URL of its result, and of the ranges still to start.
		j.setRangeURL(getString(t.easy, curl.INFO_EFFECTIVE_URL))
	}
	e.hostFeedback(t, &f, v)
	e.removeTransfer(t)
	s.t = nil
	if v.kind != vRetry {
		e.noteAttempt(a, v, 0) // before the result it may lead to
	}
	if v.fresh {
		e.abandonSplit(j, v)
		return
	}
	switch v.kind {
	case vOK:
		if e.splitDone(j) {
			e.finishSplit(j)
		} else if !s.probe {
			// (The probe ends as the ranges start: nothing to judge yet.)
			e.rebalance(j, ttfb)
		}
	case vRetry:
		s.due = time.Now().Add(e.backoff(s.attempts, v.retryAfter))
		if j.spreading() && mirrorFixable(&f) {
			// Another URL of the file may serve the range now.
			s.mirror, s.due = j.spreadURL(s.attempts), time.Now()
		}
		e.writeMeta(j)
	default:
		j.last.HTTPCode, j.last.CurlCode = f.httpCode, code
		e.failSplit(j, errors.New(v.message()), v.kind == vFail)
	}
	if v.kind == vRetry {
		e.noteAttempt(a, v, time.Until(s.due)) // once the backoff is drawn
	}
}

// abandonSplit throws the ranges of j and what they brought away: the
// resource changed between them (restart, once without spending a retry),
// or its server answered one with the whole file of the version asked for
// and so does not honour ranges, whatever its Accept-Ranges said (unsplit:
// fetched whole on one connection, at once, never split again; nothing of
// the ranges is kept, so no two versions are mixed).
func (e *engine) abandonSplit(j *job, v verdict) {
	e.stopSegments(j, false)
	e.dropPart(j)
	j.segs, j.segURL, j.segHost, j.validator, j.offset, j.total = nil, "", "", "", 0, 0
	j.splitting = splitMaybe
	j.last = Result{Error: v.message()}
	if v.free {
		j.tries.freeRestart = true
	}
	switch {
	case v.kind == vUnsplit:
		j.splitting, j.tries.unsplit = splitNo, true
		e.retryNow(j)
	case v.kind == vFail:
		e.fail(j)
	case v.now:
		e.retryNow(j)
	default:
		e.scheduleRetry(j, 0)
	}
}

// stealMin is the least a running range must have left for rebalance to
// split it: each half then brings at least 512 KiB.
const stealMin = 1 << 20

// rebalance puts the connection a finished range gave up to work: the
// running range with the most left is cut in two, it stops at the middle
// and a new range takes the second half. That is worth it only when the
// range would still need longer than twice what a new connection took to
// get its first byte (ttfb, measured on the range that just finished); so
// on loopback a range lagging by a few megabytes is split, and on a
// long-distance link the same range is left to finish.
func (e *engine) rebalance(j *job, ttfb time.Duration) {
	var slow *segment
	at, left := 0, int64(0)
	for i, s := range j.segs {
		if s.t == nil || s.t.x.state() != stateWriting {
			continue
		}
		if l := s.end - s.t.x.position(); l > left {
			slow, at, left = s, i, l
		}
	}
	if slow == nil || left < stealMin {
		return
	}
	got, took := slow.t.x.bytes(), time.Since(slow.t.start)
	if got <= 0 || took <= 0 {
		return
	}
	need := time.Duration(float64(left) / float64(got) * float64(took))
	if need < 2*ttfb {
		return
	}
	mid := slow.end - left/2
	tail := &segment{start: mid, end: slow.end, mirror: j.spreadURL(len(j.segs))}
	slow.end = mid
	slow.t.x.setLimit(mid)
	j.segs = slices.Insert(j.segs, at+1, tail)
	j.resume.written = false
	e.writeMeta(j) // the new partition, for -c after a crash
	e.startSegment(j, tail)
}

func (e *engine) splitDone(j *job) bool {
	for _, s := range j.segs {
		if !s.finished() {
			return false
		}
	}
	return true
}

// startRangesOf starts the ranges of j that wait and may start now.
func (e *engine) startRangesOf(j *job) {
	now := time.Now()
	for _, s := range j.segs {
		if waitingRange(s) && !s.due.After(now) {
			e.startSegment(j, s)
		}
	}
}

// rangeURL is where the ranges of j are fetched, and rangeHost its host.
func (j *job) rangeURL() string {
	if j.segURL != "" {
		return j.segURL
	}
	return j.url()
}

func (j *job) rangeHost() string {
	if j.segHost != "" {
		return j.segHost
	}
	return j.host
}

func (j *job) setRangeURL(u string) {
	j.segURL, j.segHost = u, ""
	if u != "" {
		j.segHost = hostKey(u)
	}
}

func (e *engine) finishSplit(j *job) {
	delete(e.sch.splits, j)
	j.last = Result{HTTPCode: 206, EffectiveURL: j.segURL}
	e.finishFile(j, j.cdName)
}

// stopSegments ends every running range of j; with keep, what they wrote
// stays on disk for a later -c.
func (e *engine) stopSegments(j *job, keep bool) {
	for _, s := range j.segs {
		if t := s.t; t != nil {
			got := t.x.bytes()
			j.received += got
			if keep && t.x.state() == stateWriting && t.x.keep() {
				s.done += got
			}
			e.removeTransfer(t)
			s.t = nil
		}
	}
	delete(e.sch.splits, j)
}

// failSplit ends a split download as failed. Permanent failures remove the
// file; a transient one that ran out of retries keeps it, with its ranges
// recorded for -c.
func (e *engine) failSplit(j *job, err error, permanent bool) {
	e.stopSegments(j, !permanent)
	j.last.Error = err.Error()
	if permanent {
		e.dropPart(j)
	} else {
		j.resume.written = false
		e.writeMeta(j)
	}
	e.fail(j)
}

// abortSplit records the ranges of an interrupted split download.
func (e *engine) abortSplit(j *job) {
	e.stopSegments(j, true)
	j.resume.written = false
	e.writeMeta(j)
	j.last.Error = fmt.Sprintf("aborted: %s (ranges kept in %s for -c)", e.stopReason, j.entry.Path+PartSuffix)
	e.end(j, StatusInterrupted)
}
