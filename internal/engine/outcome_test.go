package engine

import (
	"testing"
	"time"
)

// whole is a finished attempt of a whole file that began at offset 100 of
// the version "v1", on its second attempt of --retry 3.
func whole(f func(*attemptFacts)) attemptFacts {
	a := attemptFacts{http: true, part: "d/f.part", state: stateWriting, httpCode: 206, got: 50,
		offset: 100, validator: `"v1"`, kept: true, attempts: 2, rounds: 2, retry: 3,
		stallTimeout: time.Second, curlMsg: "Connection refused (curl 7)", ioErr: "cannot write d/f.part: no space left on device",
		hdr: &respHeaders{validator: `"v1"`, acceptsRanges: true, rangeTotal: -1, retryAfter: 2 * time.Second}}
	f(&a)
	return a
}

// probe is the first attempt of a -c rerun that found a saved file of 5000
// bytes and asked only for what lies past it (rerun.go).
func probe(f func(*attemptFacts)) attemptFacts {
	a := whole(func(a *attemptFacts) {
		a.offset, a.validator, a.whole, a.got, a.attempts, a.rounds = 0, "", 5000, 0, 1, 1
	})
	f(&a)
	return a
}

// rng is a finished range 100-199 of a split download of "v1", resumed at
// 150, on its first retry of --retry 3.
func rng(f func(*attemptFacts)) attemptFacts {
	a := whole(func(a *attemptFacts) {
		a.segment, a.from, a.end, a.start = true, 150, 200, 100
		a.attempts, a.rounds = 1, 5
	})
	f(&a)
	return a
}

func TestClassify(t *testing.T) {
	const (
		gone     = "d/f.part changed since this run looked at it (another process?): starting over"
		refused  = "Connection refused (curl 7)"
		noSpace  = "cannot write d/f.part: no space left on device"
		stalled  = "stalled: nothing received for 1s (--stall-timeout)"
		early    = "range 100-199 ended early"
		changed  = "range 150-199 refused (HTTP 200): the file changed"
		ra       = 2 * time.Second
		notFound = "HTTP 404 Not Found"
		busy     = "cannot create d/f.part: another process is writing it"
	)
	rows := []struct {
		name string
		f    attemptFacts
		want verdict
	}{
		// Whole files: what today's complete() decided, branch by branch.
		{"206 of another version restarts once for free",
			whole(func(a *attemptFacts) { a.state, a.otherVersion = stateRangeBad, true }),
			verdict{kind: vRestart, reason: `HTTP 206 answer is of another version than the "v1" asked for with If-Range: the file changed`, retryAfter: ra, free: true}},
		{"part gone under a resume restarts",
			whole(func(a *attemptFacts) { a.state, a.partGone = stateRangeBad, true }),
			verdict{kind: vRestart, reason: gone, retryAfter: ra, free: true}},
		{"206 at the wrong offset restarts",
			whole(func(a *attemptFacts) { a.state = stateRangeBad }),
			verdict{kind: vRestart, reason: "HTTP 206 answer does not start at byte 100", retryAfter: ra, free: true}},
		{"restart after the free one spends a retry",
			whole(func(a *attemptFacts) { a.state, a.freeUsed, a.attempts = stateRangeBad, true, 4 }),
			verdict{kind: vRestart, reason: "HTTP 206 answer does not start at byte 100", retryAfter: ra}},
		{"restart beyond the budget fails and drops the part",
			whole(func(a *attemptFacts) { a.state, a.freeUsed, a.attempts = stateRangeBad, true, 5 }),
			verdict{kind: vFail, reason: "HTTP 206 answer does not start at byte 100", gaveUp: 5, retryAfter: ra}},
		{"part busy in another process waits and reloads",
			whole(func(a *attemptFacts) { a.state, a.busy, a.ioErr = stateIOErr, true, busy }),
			verdict{kind: vRetry, reason: busy, retryAfter: ra, reload: true}},
		{"416 on a resume of the whole size is complete",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode, a.hdr.rangeTotal = stateRejected, 416, 23, 100 }),
			verdict{kind: vCompleted, reason: "HTTP 416 Requested Range Not Satisfiable"}},
		{"a -c rerun's probe told 416 at the saved size: whole",
			probe(func(a *attemptFacts) {
				a.state, a.httpCode, a.curlCode, a.hdr.rangeTotal = stateRejected, 416, 23, 5000
			}),
			verdict{kind: vCompleted, now: true}},
		{"a probe told 416 with an empty body (no write) is whole too",
			probe(func(a *attemptFacts) { a.state, a.httpCode, a.hdr.rangeTotal = stateFresh, 416, 5000 }),
			verdict{kind: vCompleted, now: true}},
		{"a probe told 416 of another size fetches the file at once",
			probe(func(a *attemptFacts) {
				a.state, a.httpCode, a.curlCode, a.hdr.rangeTotal = stateRejected, 416, 23, 4000
			}),
			verdict{kind: vRestart, reason: "the server's file is not the 5000 bytes saved: fetching it whole", retryAfter: ra, now: true, free: true}},
		{"a probe answered 206 (a longer file) fetches it at once",
			probe(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode = stateRangeBad, 206, 23 }),
			verdict{kind: vRestart, reason: "the server's file is longer than the 5000 bytes saved: fetching it whole", retryAfter: ra, now: true, free: true}},
		{"a probe answered 200 is a fresh download",
			probe(func(a *attemptFacts) { a.httpCode, a.restarted = 200, true }),
			verdict{kind: vOK}},
		{"a probe told 503 retries as any attempt",
			probe(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode = stateRejected, 503, 23 }),
			verdict{kind: vRetry, reason: "HTTP 503 Service Unavailable", retryAfter: ra}},
		{"416 of another size restarts",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.hdr.rangeTotal = stateRejected, 416, 90 }),
			verdict{kind: vRestart, reason: "HTTP 416 Requested Range Not Satisfiable", retryAfter: ra, free: true}},
		{"503 retries keeping the earlier prefix",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode = stateRejected, 503, 23 }),
			verdict{kind: vRetry, reason: "HTTP 503 Service Unavailable", retryAfter: ra, keep: keepEarlier}},
		{"503 on a first attempt keeps nothing",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.offset, a.validator = stateRejected, 503, 0, "" }),
			verdict{kind: vRetry, reason: "HTTP 503 Service Unavailable", retryAfter: ra}},
		{"503 beyond the budget fails keeping the prefix",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.attempts = stateRejected, 503, 4 }),
			verdict{kind: vFailKeep, reason: "HTTP 503 Service Unavailable", gaveUp: 4, retryAfter: ra, keep: keepEarlier}},
		{"404 fails at once",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode = stateRejected, 404, 23 }),
			verdict{kind: vFail, reason: notFound}},
		{"a redirect without Location fails",
			whole(func(a *attemptFacts) { a.state, a.httpCode = stateFresh, 302 }),
			verdict{kind: vFail, reason: "HTTP 302 Found without a usable Location"}},
		{"out of descriptors waits outside the budget",
			whole(func(a *attemptFacts) {
				a.state, a.outOfFDs, a.ioErr, a.attempts, a.fdWaits = stateIOErr, true, noSpace, 7, 3
			}),
			verdict{kind: vRetry, reason: noSpace, retryAfter: ra, keep: keepEarlier, fdWait: true}},
		{"a disk error fails",
			whole(func(a *attemptFacts) { a.state, a.curlCode = stateIOErr, 23 }),
			verdict{kind: vFail, reason: noSpace, curlCode: 23}},
		{"a stall retries resuming after what came",
			whole(func(a *attemptFacts) { a.stalled, a.curlCode = true, 28 }),
			verdict{kind: vRetry, reason: stalled, curlCode: 28, retryAfter: ra, keep: keepAll, offset: 150, validator: `"v1"`}},
		{"a 200 to the resume restarted the file: its bytes are the prefix",
			whole(func(a *attemptFacts) { a.curlCode, a.httpCode, a.restarted, a.hdr.validator = 56, 200, true, `"v2"` }),
			verdict{kind: vRetry, reason: "Connection refused (curl 7)", curlCode: 56, retryAfter: ra, keep: keepAll, offset: 50, validator: `"v2"`}},
		{"a 206 appended to needs no Accept-Ranges nor a validator of its own",
			whole(func(a *attemptFacts) { a.curlCode, a.hdr.validator, a.hdr.acceptsRanges = 56, "", false }),
			verdict{kind: vRetry, reason: refused, curlCode: 56, retryAfter: ra, keep: keepAll, offset: 150, validator: `"v1"`}},
		{"no validator: the retry starts over",
			whole(func(a *attemptFacts) { a.curlCode, a.httpCode, a.hdr.validator = 56, 200, "" }),
			verdict{kind: vRetry, reason: refused, curlCode: 56, retryAfter: ra}},
		{"an encoded body is never resumed",
			whole(func(a *attemptFacts) { a.curlCode, a.compressed = 56, true }),
			verdict{kind: vRetry, reason: refused, curlCode: 56, retryAfter: ra}},
		{"an unnamed file is never resumed",
			whole(func(a *attemptFacts) { a.curlCode, a.tmpfile = 56, true }),
			verdict{kind: vRetry, reason: refused, curlCode: 56, retryAfter: ra}},
		{"a cut beyond the budget keeps the part",
			whole(func(a *attemptFacts) { a.curlCode, a.attempts = 56, 4 }),
			verdict{kind: vFailKeep, reason: refused, gaveUp: 4, curlCode: 56, retryAfter: ra, keep: keepAll, offset: 150, validator: `"v1"`}},
		{"the start after a split given up for ignored ranges spends no retry",
			whole(func(a *attemptFacts) { a.curlCode, a.attempts, a.unsplit = 56, 4, true }),
			verdict{kind: vRetry, reason: refused, curlCode: 56, retryAfter: ra, keep: keepAll, offset: 150, validator: `"v1"`}},
		{"a stopping run retries nothing",
			whole(func(a *attemptFacts) {
				a.curlCode, a.stopping, a.offset, a.validator, a.httpCode, a.hdr.validator = 7, true, 0, "", 0, ""
			}),
			verdict{kind: vFail, reason: refused, gaveUp: 2, curlCode: 7, retryAfter: ra}},
		{"a refused connection keeps the earlier prefix",
			whole(func(a *attemptFacts) { a.state, a.curlCode, a.httpCode = stateFresh, 7, 0 }),
			verdict{kind: vRetry, reason: refused, curlCode: 7, retryAfter: ra, keep: keepEarlier}},
		{"a permanent libcurl error fails",
			whole(func(a *attemptFacts) {
				a.state, a.curlCode, a.curlMsg = stateFresh, 60, "SSL peer certificate (curl 60)"
			}),
			verdict{kind: vFail, reason: "SSL peer certificate (curl 60)", curlCode: 60}},
		{"a body shorter than its Content-Length retries",
			whole(func(a *attemptFacts) {
				a.incomplete = "the body ended after 50 of the 90 bytes its Content-Length announced"
			}),
			verdict{kind: vRetry, reason: "the body ended after 50 of the 90 bytes its Content-Length announced", retryAfter: ra, keep: keepAll, offset: 150, validator: `"v1"`}},
		{"a whole body is ok",
			whole(func(a *attemptFacts) {}),
			verdict{kind: vOK}},
		{"a non-http transfer is judged by libcurl alone",
			whole(func(a *attemptFacts) { a.http, a.httpCode, a.state = false, 0, stateWriting }),
			verdict{kind: vOK}},

		// Ranges: what today's completeSegment() decided.
		{"range whose bytes could not be kept fails",
			rng(func(a *attemptFacts) { a.kept = false }),
			verdict{kind: vFail, reason: noSpace, retryAfter: ra}},
		{"range with a disk error fails",
			rng(func(a *attemptFacts) { a.state = stateIOErr }),
			verdict{kind: vFail, reason: noSpace, retryAfter: ra}},
		{"range answered whole of the same version unsplits",
			rng(func(a *attemptFacts) { a.state, a.httpCode = stateRangeBad, 200 }),
			verdict{kind: vUnsplit, reason: "range 150-199 answered with the whole file (HTTP 200): the server ignores ranges", retryAfter: ra, fresh: true}},
		{"range answered by another version restarts at once for free",
			rng(func(a *attemptFacts) { a.state, a.httpCode, a.hdr.validator = stateRangeBad, 200, `"v2"` }),
			verdict{kind: vRestart, reason: changed, retryAfter: ra, fresh: true, free: true, now: true}},
		{"range 206 of another version restarts",
			rng(func(a *attemptFacts) { a.state, a.otherVersion = stateRangeBad, true }),
			verdict{kind: vRestart, reason: `range 150-199 came from another version than "v1" (If-Range ignored): the file changed`, retryAfter: ra, fresh: true, free: true, now: true}},
		{"range finding the part gone restarts",
			rng(func(a *attemptFacts) { a.state, a.partGone = stateRangeBad, true }),
			verdict{kind: vRestart, reason: gone, retryAfter: ra, fresh: true, free: true, now: true}},
		{"range restart after the free one waits a backoff",
			rng(func(a *attemptFacts) {
				a.state, a.httpCode, a.hdr.validator, a.freeUsed, a.rounds = stateRangeBad, 200, "", true, 3
			}),
			verdict{kind: vRestart, reason: changed, retryAfter: ra, fresh: true}},
		{"range restart beyond the budget fails",
			rng(func(a *attemptFacts) { a.state, a.httpCode, a.hdr.validator, a.freeUsed = stateRangeBad, 200, "", true }),
			verdict{kind: vFail, reason: changed, gaveUp: 5, retryAfter: ra, fresh: true}},
		{"range 503 retries alone",
			rng(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode = stateRejected, 503, 23 }),
			verdict{kind: vRetry, reason: "HTTP 503 Service Unavailable", curlCode: 23, retryAfter: ra}},
		{"range 404 fails",
			rng(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode = stateRejected, 404, 23 }),
			verdict{kind: vFail, reason: notFound, curlCode: 23, retryAfter: ra}},
		{"range stall retries",
			rng(func(a *attemptFacts) { a.stalled, a.curlCode = true, 28 }),
			verdict{kind: vRetry, reason: stalled, curlCode: 28, retryAfter: ra}},
		{"range all on disk is ok",
			rng(func(a *attemptFacts) { a.finished = true }),
			verdict{kind: vOK, retryAfter: ra}},
		{"range stopped at its end by its limit is ok",
			rng(func(a *attemptFacts) { a.curlCode, a.limitHit, a.finished = 23, true, true }),
			verdict{kind: vOK, curlCode: 23, retryAfter: ra}},
		{"range ended early retries",
			rng(func(a *attemptFacts) {}),
			verdict{kind: vRetry, reason: early, retryAfter: ra}},
		{"range cut by a reset retries",
			rng(func(a *attemptFacts) { a.curlCode = 56 }),
			verdict{kind: vRetry, reason: refused, curlCode: 56, retryAfter: ra}},
		{"range with a permanent libcurl error fails",
			rng(func(a *attemptFacts) { a.curlCode = 60 }),
			verdict{kind: vFail, reason: refused, curlCode: 60, retryAfter: ra}},
		{"range beyond its retries fails keeping the ranges",
			rng(func(a *attemptFacts) { a.curlCode, a.attempts = 56, 4 }),
			verdict{kind: vFailKeep, reason: refused, gaveUp: 4, curlCode: 56, retryAfter: ra}},

		// --retry-all-errors: every HTTP and libcurl error is retried
		// within --retry; a disk error still is not.
		{"--retry-all-errors retries a 404",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode, a.retryAll = stateRejected, 404, 23, true }),
			verdict{kind: vRetry, reason: notFound, retryAfter: ra, keep: keepEarlier}},
		{"--retry-all-errors retries a permanent libcurl error",
			whole(func(a *attemptFacts) { a.state, a.curlCode, a.retryAll = stateFresh, 60, true }),
			verdict{kind: vRetry, reason: refused, curlCode: 60, retryAfter: ra, keep: keepEarlier}},
		{"--retry-all-errors beyond the budget fails keeping the prefix",
			whole(func(a *attemptFacts) { a.state, a.httpCode, a.attempts, a.retryAll = stateRejected, 404, 4, true }),
			verdict{kind: vFailKeep, reason: notFound, gaveUp: 4, retryAfter: ra, keep: keepEarlier}},
		{"--retry-all-errors leaves a disk error failed",
			whole(func(a *attemptFacts) { a.state, a.curlCode, a.retryAll = stateIOErr, 23, true }),
			verdict{kind: vFail, reason: noSpace, curlCode: 23}},
		{"range 404 with --retry-all-errors retries",
			rng(func(a *attemptFacts) { a.state, a.httpCode, a.curlCode, a.retryAll = stateRejected, 404, 23, true }),
			verdict{kind: vRetry, reason: notFound, curlCode: 23, retryAfter: ra}},
		{"range with a permanent libcurl error and --retry-all-errors retries",
			rng(func(a *attemptFacts) { a.curlCode, a.retryAll = 60, true }),
			verdict{kind: vRetry, reason: refused, curlCode: 60, retryAfter: ra}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got := classify(r.f); got != r.want {
				t.Errorf("classify:\n got %+v\nwant %+v", got, r.want)
			}
		})
	}
}

func TestHeadersAreReadOnlyWhenNeeded(t *testing.T) {
	rows := []struct {
		name string
		f    attemptFacts
		want bool
	}{
		{"success", whole(func(a *attemptFacts) {}), false},
		{"permanent failure", whole(func(a *attemptFacts) { a.state, a.httpCode = stateRejected, 404 }), false},
		{"retry", whole(func(a *attemptFacts) { a.curlCode = 56 }), true},
		{"restart", whole(func(a *attemptFacts) { a.state = stateRangeBad }), true},
		{"416 of a resume", whole(func(a *attemptFacts) { a.state, a.httpCode = stateRejected, 416 }), true},
		{"range", rng(func(a *attemptFacts) { a.finished = true }), true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			r.f.hdr = nil
			if got := r.f.needsHeaders(); got != r.want {
				t.Errorf("needsHeaders = %v, want %v", got, r.want)
			}
		})
	}
}

// A verdict read without headers (a success) sees none, never a panic.
func TestClassifyWithoutHeaders(t *testing.T) {
	f := whole(func(a *attemptFacts) { a.hdr = nil })
	if v := classify(f); v.kind != vOK {
		t.Errorf("classify = %+v, want ok", v)
	}
}

// A verdict that spent the budget says so after its reason; a move to the
// next URL (complete, mirrors.go) clears gaveUp and the reason stands alone.
func TestVerdictMessage(t *testing.T) {
	v := verdict{kind: vFail, reason: "HTTP 503 Service Unavailable", gaveUp: 3}
	if got, want := v.message(), "HTTP 503 Service Unavailable (gave up after 3 attempts)"; got != want {
		t.Errorf("message() = %q, want %q", got, want)
	}
	v.gaveUp = 0
	if got := v.message(); got != v.reason {
		t.Errorf("message() = %q, want the reason alone", got)
	}
}
