package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
		if t.seg == nil && t.job.segs == nil && !t.job.noSplit && t.x.splittable() && t.x.state() == stateWriting {
			probes = append(probes, t)
		}
	}
	for _, t := range probes {
		e.split(t)
	}
}

func (e *engine) split(t *transfer) {
	j := t.job
	j.noSplit = true // decided once, either way
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
	if v, err := t.easy.Getinfo(curl.INFO_EFFECTIVE_URL); err == nil {
		j.segURL, _ = v.(string)
	}
	if e.cfg.ContentDisposition && j.entry.NamedByURL {
		j.cdName = contentDispositionName(header(h, "Content-Disposition"))
	}
	j.validator, j.total, j.metaSet = validator, total, false
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
		j.segs = append(j.segs, &segment{start: cut, end: end})
		cut = end
	}
	// The entry now holds its slot as a split download, not as the probe.
	e.plain--
	e.releaseHost(j.host)
	e.splitJobs[j] = struct{}{}
	e.writeMeta(j)
	for _, s := range j.segs[1:] {
		e.startSegment(j, s)
	}
}

// startSplitJob resumes a split download from its .meta (-c): every range
// not yet finished starts at once.
func (e *engine) startSplitJob(j *job) {
	e.splitJobs[j] = struct{}{}
	for _, s := range j.segs {
		if !s.finished() && s.t == nil {
			e.startSegment(j, s)
		}
	}
	if e.splitDone(j) {
		e.finishSplit(j)
	}
}

func (e *engine) startSegment(j *job, s *segment) {
	s.attempts++
	j.attempts++
	url := j.segURL
	if url == "" {
		url = j.entry.URL
	}
	hdrs := e.headersFor(j, url)
	t, err := e.startTransfer(j, s, url, true, func(x cxfer) error {
		x.setSegment()
		// With a validator (every split download has one) this sets the
		// request's headers to hdrs and If-Range.
		return x.resume(s.start+s.done, s.end, hdrs, j.validator)
	})
	if err != nil {
		e.failSplit(j, err, true)
		return
	}
	s.t = t
}

// completeSegment handles the end of one range's transfer.
func (e *engine) completeSegment(t *transfer, code int) {
	j, s, x := t.job, t.seg, t.x
	got := x.bytes()
	j.received += got
	httpCode := 0
	if v, err := t.easy.Getinfo(curl.INFO_RESPONSE_CODE); err == nil {
		httpCode, _ = v.(int)
	}
	state := x.state()
	kept := state != stateWriting || x.keep()
	if state == stateWriting && kept {
		s.done += got
	}
	retryAfter := x.retryAfter()
	var ttfb time.Duration // what this range took to get its first byte
	if v, err := t.easy.Getinfo(curl.INFO_STARTTRANSFER_TIME); err == nil {
		if f, ok := v.(float64); ok {
			ttfb = time.Duration(f * float64(time.Second))
		}
	}
	var failure string
	transient := false
	switch {
	case !kept || state == stateIOErr:
		failure = x.ioError().Error()
	case state == stateRangeBad:
		// The server did not answer with the range asked for. The whole
		// file of the same version means it does not honour ranges after
		// all: fetch it whole. Another version (a 200, or a 206 with
		// If-Range ignored) means the file changed under us: start the
		// whole file over. (Or NAME.part is gone: its bytes went with it.)
		same := httpCode == 200 && responseValidator(t.easy.GetHandle()) == j.validator
		why := fmt.Sprintf("range %d-%d refused (HTTP %d): the file changed", s.start+s.done, s.end-1, httpCode)
		switch {
		case x.otherVersion():
			why = fmt.Sprintf("range %d-%d came from another version than %s (If-Range ignored): the file changed", s.start+s.done, s.end-1, j.validator)
		case x.partGone():
			why = fmt.Sprintf("%s changed since this run looked at it (another process?): starting over", j.entry.Path+PartSuffix)
		}
		e.removeTransfer(t)
		s.t = nil
		if same {
			e.unsplit(j, fmt.Sprintf("range %d-%d answered with the whole file (HTTP 200): the server ignores ranges", s.start+s.done, s.end-1))
			return
		}
		e.restartSplit(j, why)
		return
	case state == stateRejected:
		failure, transient = httpError(httpCode), transientHTTP(httpCode)
	case t.stalled:
		failure, transient = fmt.Sprintf("stalled: nothing received for %s (--stall-timeout)", e.cfg.StallTimeout), true
	case code == 0 || (code == curlWriteError && x.limitHit()):
		if !s.finished() {
			failure, transient = fmt.Sprintf("range %d-%d ended early", s.start, s.end-1), true
		}
	default:
		failure, transient = curlMessage(x, code), transientCurl(code)
	}
	if failure == "" && j.segURL == "" {
		// A split download resumed with -c fetches its ranges from the
		// entry's URL (redirects followed): where they came from is the
		// URL of its result, and of the ranges still to start.
		if v, err := t.easy.Getinfo(curl.INFO_EFFECTIVE_URL); err == nil {
			j.segURL, _ = v.(string)
		}
	}
	e.removeTransfer(t)
	s.t = nil
	if failure == "" {
		if e.splitDone(j) {
			e.finishSplit(j)
		} else if !s.probe {
			// (The probe ends as the ranges start: nothing to judge yet.)
			e.rebalance(j, ttfb)
		}
		return
	}
	if !transient || s.attempts > e.cfg.Retry {
		if transient {
			failure = fmt.Sprintf("%s (gave up after %s)", failure, plural(s.attempts, "attempt"))
		}
		j.last.HTTPCode, j.last.CurlCode = httpCode, code
		e.failSplit(j, errors.New(failure), !transient)
		return
	}
	s.due = time.Now().Add(e.backoff(s.attempts, retryAfter))
	e.writeMeta(j)
}

const curlWriteError = 23

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
	tail := &segment{start: mid, end: slow.end}
	slow.end = mid
	slow.t.x.setLimit(mid)
	j.segs = slices.Insert(j.segs, at+1, tail)
	j.metaSet = false
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

// startDueSegments restarts failed ranges whose backoff is over.
func (e *engine) startDueSegments(now time.Time) {
	for j := range e.splitJobs {
		for _, s := range j.segs {
			if s.t == nil && !s.finished() && !s.due.After(now) {
				e.startSegment(j, s)
			}
		}
	}
}

// nextSegmentDue is the earliest backoff end of a waiting range.
func (e *engine) nextSegmentDue() (time.Time, bool) {
	var next time.Time
	found := false
	for j := range e.splitJobs {
		for _, s := range j.segs {
			if s.t == nil && !s.finished() && (!found || s.due.Before(next)) {
				next, found = s.due, true
			}
		}
	}
	return next, found
}

func (e *engine) finishSplit(j *job) {
	delete(e.splitJobs, j)
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
	delete(e.splitJobs, j)
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
		j.metaSet = false
		e.writeMeta(j)
	}
	e.fail(j)
}

// restartSplit throws the partial file away and fetches the entry anew
// (the resource changed between ranges), once without spending a retry.
func (e *engine) restartSplit(j *job, reason string) {
	e.stopSegments(j, false)
	e.dropPart(j)
	j.segs, j.segURL, j.validator, j.offset, j.total, j.noSplit = nil, "", "", 0, 0, false
	j.last = Result{Error: reason}
	budget := j.attempts
	if !j.freeRestart {
		j.freeRestart = true
		budget = 0
	}
	if budget > e.cfg.Retry {
		j.last.Error = fmt.Sprintf("%s (gave up after %s)", reason, plural(j.attempts, "attempt"))
		e.fail(j)
		return
	}
	if budget == 0 {
		e.retryNow(j) // the free restart is no retry: no backoff either
		return
	}
	e.scheduleRetry(j, 0)
}

// unsplit gives up the ranges of j, whose server answered one with the
// whole file of the version the ranges were asked for: it does not honour
// ranges, whatever its Accept-Ranges said. The file is fetched whole on one
// connection, at once and without spending a retry; nothing of the ranges
// is kept, so nothing is spliced.
func (e *engine) unsplit(j *job, reason string) {
	e.stopSegments(j, false)
	e.dropPart(j)
	j.segs, j.segURL, j.validator, j.offset, j.total = nil, "", "", 0, 0
	j.noSplit = true // never split again
	j.last = Result{Error: reason}
	e.retryNow(j)
}

// retryNow puts j in line for the next free slot without a backoff.
func (e *engine) retryNow(j *job) { e.queueRetry(j, time.Now()) }

// headersFor is the header list for a request of j to url. Headers given
// for the entry's host (Authorization and Cookie with -H) never go to
// another scheme://host:port: libcurl drops them when the entry's first
// request is redirected to another host, and the ranges, retries and
// resumes sent straight to where it led must too. (Credentials in the
// entry's URL are no part of a URL on another host.)
func (e *engine) headersFor(j *job, url string) slist {
	if hostKey(url) != hostKey(j.entry.URL) {
		return e.foreign
	}
	return e.headers
}

// withoutCredentials is headers without Authorization and Cookie, the
// ones libcurl keeps to the first host of a transfer.
func withoutCredentials(headers []string) []string {
	var out []string
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Cookie") {
			continue
		}
		out = append(out, h)
	}
	return out
}

// abortSplit records the ranges of an interrupted split download.
func (e *engine) abortSplit(j *job) {
	e.stopSegments(j, true)
	j.metaSet = false
	e.writeMeta(j)
	j.part.release()
	r := e.baseResult(j)
	r.Status = StatusFailed
	r.Error = fmt.Sprintf("aborted: %s (ranges kept in %s for -c)", e.stopReason, j.entry.Path+PartSuffix)
	e.result(r)
}
