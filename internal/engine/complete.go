package engine

// Finished attempts: the facts classify needs are read from the transfer,
// and its verdict is carried out for a whole file (here) or a range
// (completeSegment in split.go).

import (
	"fmt"
	"strings"
	"time"

	curl "github.com/andelf/go-curl"
)

// facts reads what classify needs from a finished transfer; a range's
// caller has already counted what the attempt kept.
func (e *engine) facts(t *transfer, code int) attemptFacts {
	j, x := t.job, t.x
	f := attemptFacts{
		segment:      t.seg != nil,
		http:         t.seg != nil || isHTTP(j.url()),
		part:         j.entry.Path + PartSuffix,
		curlCode:     code,
		httpCode:     getInt(t.easy, curl.INFO_RESPONSE_CODE),
		state:        x.state(),
		otherVersion: x.otherVersion(),
		partGone:     x.partGone(),
		busy:         x.busy(),
		outOfFDs:     x.outOfFDs(),
		stalled:      t.stalled,
		stallTimeout: e.cfg.StallTimeout,
		tmpfile:      x.tmpfile(),
		restarted:    x.restarted(),
		got:          x.bytes(),
		offset:       j.offset,
		whole:        j.whole,
		conditional:  j.cond != "",
		validator:    j.validator,
		compressed:   e.cfg.Compressed,
		kept:         true,
		attempts:     j.tries.rounds, // the ranges of an earlier split spent no retry of the whole file
		rounds:       j.tries.rounds,
		fdWaits:      j.tries.fdWaits,
		switches:     j.tries.switches,
		freeUsed:     j.tries.freeRestart,
		unsplit:      j.tries.unsplit,
		retry:        e.cfg.Retry,
		retryAll:     e.cfg.RetryAllErrors,
		stopping:     e.stopReason != "",
	}
	if f.state == stateIOErr {
		f.ioErr = x.ioError().Error()
	}
	if code != 0 {
		f.curlMsg = curlMessage(x, code)
	} else if !f.segment && !f.stalled && (f.state == stateFresh || f.state == stateWriting) {
		f.incomplete = x.incomplete()
	}
	return f
}

func curlMessage(x cxfer, code int) string {
	// libcurl's error buffer says more than curl_easy_strerror (host, port,
	// timings); fall back to the generic text when it is empty.
	msg := strings.TrimSpace(x.errbuf())
	if msg == "" {
		msg = curlStrerror(code)
	}
	return fmt.Sprintf("%s (curl %d)", msg, code)
}

// readHeaders reads the response headers a verdict may depend on.
func readHeaders(t *transfer) *respHeaders {
	h := t.easy.GetHandle()
	return &respHeaders{
		validator:     responseValidator(h),
		acceptsRanges: acceptsRanges(h),
		rangeTotal:    rangeTotal(header(h, "Content-Range")),
		retryAfter:    t.x.retryAfter(),
	}
}

func getInt(easy *curl.CURL, info curl.CurlInfo) int {
	v, err := easy.Getinfo(info)
	if err != nil {
		return 0
	}
	n, _ := v.(int)
	return n
}

func getString(easy *curl.CURL, info curl.CurlInfo) string {
	v, err := easy.Getinfo(info)
	if err != nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

func getSeconds(easy *curl.CURL, info curl.CurlInfo) time.Duration {
	v, err := easy.Getinfo(info)
	if err != nil {
		return 0
	}
	f, _ := v.(float64)
	return time.Duration(f * float64(time.Second))
}

// complete acts on the end of a transfer.
func (e *engine) complete(t *transfer, code int) {
	if t.seg != nil {
		e.completeSegment(t, code)
		return
	}
	j, x := t.job, t.x
	f := e.facts(t, code)
	a := e.attemptOf(t, f.got)
	if f.needsHeaders() {
		f.hdr = readHeaders(t)
	}
	v := classify(f)
	e.hostFeedback(t, &f, v)
	if fixable := mirrorFixable(&f); fixable && (v.kind == vRetry || v.kind == vFail || v.kind == vFailKeep) && e.nextMirror(j) {
		// Not given up: the next URL is asked.
		v.kind, v.now, v.moved, v.gaveUp = vRetry, true, true, 0
	} else if fixable && v.kind == vRetry {
		e.nextRound(j)
	}
	if v.kind != vRetry || f.state == stateWriting {
		// The probe of a saved file, or its condition, is answered: by a
		// verdict, or by a body (a 200), which a retry continues or
		// starts over like any download.
		j.whole, j.cond = 0, ""
	}
	j.received += f.got
	j.resume.seen = j.resume.seen || x.preexisted()
	cdName := ""
	if e.cfg.ContentDisposition && j.entry.NamedByURL {
		cdName = contentDispositionName(header(t.easy.GetHandle(), "Content-Disposition"))
	}
	j.last = Result{CurlCode: v.curlCode, HTTPCode: f.httpCode, EffectiveURL: getString(t.easy, curl.INFO_EFFECTIVE_URL), Error: v.message()}
	if v.fdWait {
		j.tries.fdWaits++
	}
	if v.reload && e.cfg.Continue {
		j.resume.reload = true
	}
	if v.free {
		j.tries.freeRestart = true
	}
	// What the verdict keeps must reach the disk first: if it cannot, the
	// entry fails with the disk's error.
	switch {
	case v.keep == keepAll && !x.keep(), v.kind == vOK && !x.finish():
		v.kind, j.last.Error = vFail, x.ioError().Error()
	case v.keep == keepAll:
		j.offset = v.offset
		j.setValidator(v.validator)
	}
	if v.kind != vRetry && v.kind != vRestart {
		e.noteAttempt(a, v, 0) // before the result it leads to
	}
	switch v.kind {
	case vRetry, vRestart:
		if v.keep == keepNone {
			x.discard()
			e.dropPart(j)
			j.offset, j.validator = 0, ""
		}
		e.removeTransfer(t)
		if v.now {
			e.retryNow(j)
		} else {
			e.scheduleRetry(j, v.retryAfter)
		}
	case vFail:
		x.discard()
		e.dropPart(j)
		e.removeTransfer(t)
		e.fail(j)
	case vFailKeep:
		e.writeMeta(j)
		e.removeTransfer(t)
		e.fail(j)
	case vUnchanged:
		x.discard()
		// A file checked by its time learns its ETag for the next run.
		if etag := header(t.easy.GetHandle(), "ETag"); etag != "" {
			e.remember(j, j.savedAs, etag, "")
		}
		e.removeTransfer(t)
		e.unchanged(j)
	case vCompleted:
		if f.whole > 0 {
			x.discard()
			e.removeTransfer(t)
			e.skipWhole(j, fmt.Sprintf("the server's file is the %d bytes saved", f.whole))
			return
		}
		fallthrough
	case vOK:
		e.noteRemote(j, t.easy.GetHandle())
		j.out = takeOutput(x)
		e.removeTransfer(t)
		e.finishFile(j, cdName)
	}
	if v.kind == vRetry || v.kind == vRestart {
		e.noteAttempt(a, v, time.Until(j.due)) // once the backoff is drawn
	}
}

func (e *engine) fail(j *job) { e.end(j, StatusFailed) }

// end reports j with status st (failed, or interrupted by the run's stop).
func (e *engine) end(j *job, st Status) {
	j.part.release()
	r := e.baseResult(j)
	r.Status = st
	e.result(r)
	e.setState(j, stDone)
}
