package engine

// The outcome of an attempt: one pure function, classify, turns the facts
// read from a finished transfer (whole file or range) into a verdict the
// caller acts on. Nothing here calls libcurl, C or the clock.

import (
	"fmt"
	"net/http"
	"time"
)

// Which failures are worth another attempt. Everything else — other 4xx,
// TLS verification, bad URLs, disk errors, too many redirects — fails at
// once, because trying again cannot change the answer.
var transientCurlCodes = map[int]bool{
	5:  true, // could not resolve proxy
	6:  true, // could not resolve host (often a passing DNS failure)
	7:  true, // could not connect
	16: true, // HTTP/2 framing layer error
	18: true, // partial file: fewer bytes than announced
	28: true, // timeout, and stalls (--stall-timeout)
	35: true, // TLS handshake broken off (a reset, not a verification failure)
	52: true, // empty reply
	55: true, // send failed
	56: true, // receive failed (connection reset)
	92: true, // HTTP/2 stream error
	95: true, // HTTP/3 layer error
}

func transientCurl(code int) bool { return transientCurlCodes[code] }

func transientHTTP(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

const (
	curlWriteError = 23
	curlTimeout    = 28
)

// respHeaders are the response headers a verdict may depend on. They are
// read only when needsHeaders says so: a success needs none of them, and
// reading them costs a lookup per header per file.
type respHeaders struct {
	validator     string        // responseValidator
	acceptsRanges bool          // Accept-Ranges: bytes
	rangeTotal    int64         // a 416's "Content-Range: bytes */SIZE", -1 when none
	retryAfter    time.Duration // Retry-After, 0 when none
}

// attemptFacts is what a finished attempt left: read from the transfer and
// its job before classify, so that classify is a function of them alone.
type attemptFacts struct {
	segment bool   // a range of a split download
	http    bool   // the URL is http(s)
	part    string // NAME.part, for reasons

	curlCode, httpCode int
	curlMsg            string // libcurl's message for curlCode (curlMessage)
	state              int    // the C write state: stateFresh, stateWriting, ...
	ioErr              string // why the output could not be written
	otherVersion       bool   // a 206 of another version than If-Range asked for
	partGone           bool   // NAME.part vanished or shrank under the resume
	busy               bool   // another process holds NAME.part
	outOfFDs           bool   // the output could not be opened for want of descriptors
	stalled            bool   // ended by --stall-timeout
	stallTimeout       time.Duration
	incomplete         string // why a body libcurl called whole is short, "" when whole
	tmpfile            bool   // written to an unnamed file: nothing of it can be kept
	restarted          bool   // a 200 answered the resume: written from byte 0
	got                int64  // body bytes of this attempt

	// Whole files: the resume state the attempt started from.
	offset      int64
	whole       int64 // a -c rerun asked only past this saved size (rerun.go)
	conditional bool  // a -N rerun asked whether the saved file changed
	validator   string
	compressed  bool // --compressed: a range of an encoded body is no range of the file

	// Ranges: the range after what this attempt brought was counted.
	kept      bool  // the attempt's bytes are on disk (mg_xfer_keep succeeded)
	from, end int64 // what is left of the range: [from, end)
	start     int64 // where the range began
	limitHit  bool  // the transfer stopped at the range's end (CURLE_WRITE_ERROR of ours)
	finished  bool  // the range is all on disk

	// Retry budget.
	attempts int  // of the whole file (its starts, ranges aside), or of the range
	rounds   int  // starts of the whole file, its ranges aside (for a restart)
	fdWaits  int  // attempts spent waiting for descriptors so far
	switches int  // attempts that moved to another mirror (outside --retry)
	freeUsed bool // the free restart is spent
	unsplit  bool // a split was given up for a server ignoring ranges: that start spent no retry
	retry    int  // --retry
	retryAll bool // --retry-all-errors: HTTP and libcurl errors are all transient
	stopping bool // the run is stopping: nothing is tried again

	hdr *respHeaders // nil unless needsHeaders
}

// verdictKind is what to do after an attempt.
type verdictKind int

const (
	vOK        verdictKind = iota // the file (or range) is whole
	vCompleted                    // a resume found the file whole already (416)
	vRetry                        // try again after a backoff
	vRestart                      // start the file over from byte 0
	vUnsplit                      // fetch the file whole on one connection, at once
	vFail                         // give up; NAME.part goes
	vFailKeep                     // give up; NAME.part stays for -c
	vUnchanged                    // a -N rerun's saved file is current (304)
)

// keepWhat says what of NAME.part a retry or failure keeps.
type keepWhat int

const (
	keepNone    keepWhat = iota // drop it: the next attempt starts from 0
	keepEarlier                 // the attempt wrote nothing: the earlier prefix stands
	keepAll                     // keep what this attempt wrote: resume from offset
)

type verdict struct {
	kind     verdictKind
	reason   string
	curlCode int // as reported: 0 when the abort was ours (an HTTP status)

	keep       keepWhat
	offset     int64  // with keepAll: the prefix now on disk
	validator  string // with keepAll: the version it is a prefix of
	retryAfter time.Duration
	now        bool // no backoff: the free restart of a split download
	free       bool // this verdict spends the free restart
	fdWait     bool // the attempt waited for descriptors, outside --retry
	reload     bool // look at NAME.part afresh (-c) before the next attempt
	fresh      bool // a split download is given up: its ranges go, the entry starts afresh
	moved      bool // the entry moves to its next URL (set by complete: mirrors.go)
	gaveUp     int  // >0: the budget is spent after this many attempts (see message)
}

// message is the verdict's reason as a result or -v line gives it.
func (v verdict) message() string {
	if v.gaveUp > 0 {
		return fmt.Sprintf("%s (gave up after %s)", v.reason, plural(v.gaveUp, "attempt"))
	}
	return v.reason
}

// needsHeaders says whether classify looks at f.hdr: for every range (a
// range is large, its headers cost nothing), and for a whole file only
// when it is not a plain success or failure.
func (f *attemptFacts) needsHeaders() bool {
	if f.segment || f.whole > 0 {
		return true
	}
	k := judge(f).kind
	return k == vRetry || k == vRestart || k == vCompleted
}

// classify decides what follows a finished attempt.
func classify(f attemptFacts) verdict {
	if f.hdr == nil {
		f.hdr = &respHeaders{rangeTotal: -1}
	}
	if f.segment {
		return classifyRange(&f)
	}
	v, ok := rerunVerdict(&f)
	if !ok {
		v = judge(&f)
	}
	if v.kind == vRetry || v.kind == vRestart {
		settle(&f, &v)
	}
	return v
}

// judge classifies a whole-file attempt before its prefix and budget are
// looked at.
func judge(f *attemptFacts) verdict {
	v := verdict{curlCode: f.curlCode}
	httpOK := !f.http || (f.httpCode >= 200 && f.httpCode <= 299)
	switch {
	case f.state == stateRangeBad && f.otherVersion:
		v.kind, v.reason = vRestart, fmt.Sprintf("HTTP 206 answer is of another version than the %s asked for with If-Range: the file changed", f.validator)
	case f.state == stateRangeBad && f.partGone:
		v.kind, v.reason = vRestart, fmt.Sprintf("%s changed since this run looked at it (another process?): starting over", f.part)
	case f.state == stateRangeBad:
		v.kind, v.reason = vRestart, fmt.Sprintf("HTTP 206 answer does not start at byte %d", f.offset)
	case f.busy:
		// Another process is writing NAME.part: wait for it (retries with
		// backoff), never touching its file; then look at it afresh.
		v.kind, v.reason, v.reload = vRetry, f.ioErr, true
	case f.state == stateRejected || (f.curlCode == 0 && !httpOK):
		v.curlCode, v.reason = 0, httpError(f.httpCode)
		switch {
		case f.httpCode == http.StatusRequestedRangeNotSatisfiable && f.offset > 0:
			v.kind = vRestart
			if f.hdr != nil && f.hdr.rangeTotal == f.offset {
				v.kind = vCompleted
			}
		case transientHTTP(f.httpCode) || f.retryAll:
			v.kind = vRetry
		default:
			v.kind = vFail
		}
	case f.state == stateIOErr && f.outOfFDs:
		v.kind, v.reason, v.fdWait = vRetry, f.ioErr, true
	case f.state == stateIOErr:
		v.kind, v.reason = vFail, f.ioErr
	case f.stalled:
		v.kind, v.reason, v.curlCode = vRetry, stallReason(f.stallTimeout), curlTimeout
	case f.curlCode != 0:
		v.kind, v.reason = vFail, f.curlMsg
		if transientCurl(f.curlCode) || f.retryAll {
			v.kind = vRetry
		}
	case f.incomplete != "":
		// libcurl reports success for a connection closed inside the
		// header block: that is a cut like any other, never an empty file.
		v.kind, v.reason = vRetry, f.incomplete
	default:
		v.kind = vOK
	}
	return v
}

// settle decides what a whole-file retry or restart keeps, and whether the
// budget allows it.
func settle(f *attemptFacts, v *verdict) {
	h := f.hdr
	v.retryAfter = h.retryAfter
	validator := h.validator
	// A 206 this attempt appended to is proof that ranges work, with or
	// without Accept-Ranges (nginx sends none on a 206), and of the version
	// the resume asked for (see other_version in xfer.c).
	appended := f.state == stateWriting && f.httpCode == http.StatusPartialContent
	if appended && validator == "" {
		validator = f.validator
	}
	// A range of an encoded body is no range of the decoded file. An
	// unnamed file keeps nothing: its body is fetched again whole.
	resumable := validator != "" && f.http && (appended || h.acceptsRanges) && !f.compressed && !f.tmpfile
	retry := v.kind == vRetry
	offset := f.offset
	switch {
	case retry && (f.state == stateFresh || f.state == stateRejected || f.outOfFDs) && f.offset > 0 && f.validator != "":
		// A refused connection, a 503: the earlier prefix and validator stand.
		v.keep = keepEarlier
	case retry && resumable && f.state == stateWriting:
		v.keep, v.validator = keepAll, validator
		if offset = f.offset + f.got; f.restarted {
			offset = f.got
		}
		v.offset = offset
	default:
		offset = 0
	}
	budget := f.attempts - min(f.fdWaits+b2i(v.fdWait), maxFDWaits) - f.switches - b2i(f.unsplit)
	// A resume that found the prefix unusable (the file changed or shrank)
	// starts over once without spending a retry.
	v.free = v.kind == vRestart && !f.freeUsed
	if f.freeUsed || v.free {
		budget--
	}
	if budget > f.retry || f.stopping {
		v.gaveUp = f.attempts
		v.kind = vFail
		if v.keep != keepNone && offset > 0 {
			v.kind = vFailKeep
		}
	}
}

// classifyRange decides what follows the end of one range's transfer.
func classifyRange(f *attemptFacts) verdict {
	v := verdict{curlCode: f.curlCode, retryAfter: f.hdr.retryAfter}
	transient := false
	switch {
	case !f.kept || f.state == stateIOErr:
		v.reason = f.ioErr
	case f.state == stateRangeBad:
		// The server did not answer with the range asked for. The whole
		// file of the same version means it does not honour ranges after
		// all: fetch it whole. Another version (a 200, or a 206 with
		// If-Range ignored) means the file changed under us: start the
		// whole file over. (Or NAME.part is gone: its bytes went with it.)
		if f.httpCode == http.StatusOK && f.hdr.validator == f.validator {
			v.kind, v.fresh = vUnsplit, true
			v.reason = fmt.Sprintf("range %d-%d answered with the whole file (HTTP 200): the server ignores ranges", f.from, f.end-1)
			return v
		}
		v.reason = fmt.Sprintf("range %d-%d refused (HTTP %d): the file changed", f.from, f.end-1, f.httpCode)
		switch {
		case f.otherVersion:
			v.reason = fmt.Sprintf("range %d-%d came from another version than %s (If-Range ignored): the file changed", f.from, f.end-1, f.validator)
		case f.partGone:
			v.reason = fmt.Sprintf("%s changed since this run looked at it (another process?): starting over", f.part)
		}
		return restartSplitVerdict(f, v)
	case f.state == stateRejected:
		v.reason, transient = httpError(f.httpCode), transientHTTP(f.httpCode) || f.retryAll
	case f.stalled:
		v.reason, transient = stallReason(f.stallTimeout), true
	case f.curlCode == 0 || (f.curlCode == curlWriteError && f.limitHit):
		if f.finished {
			v.kind = vOK
			return v
		}
		v.reason, transient = fmt.Sprintf("range %d-%d ended early", f.start, f.end-1), true
	default:
		v.reason, transient = f.curlMsg, transientCurl(f.curlCode) || f.retryAll
	}
	switch {
	case !transient:
		v.kind = vFail
	case f.attempts > f.retry:
		v.kind, v.gaveUp = vFailKeep, f.attempts
	default:
		v.kind = vRetry
	}
	return v
}

// restartSplitVerdict: a split download whose file changed starts over,
// once at once and without spending a retry, then from the budget.
func restartSplitVerdict(f *attemptFacts, v verdict) verdict {
	v.kind, v.fresh = vRestart, true
	// As for a whole file (settle), less the free restart; counted
	// in starts of the file, not in ranges, of which one split has many.
	budget := f.rounds - 1
	if !f.freeUsed {
		v.free, budget = true, 0
	}
	switch {
	case budget > f.retry:
		v.kind, v.gaveUp = vFail, f.rounds
	case budget == 0:
		v.now = true // the free restart is no retry: no backoff either
	}
	return v
}

func stallReason(d time.Duration) string {
	return fmt.Sprintf("stalled: nothing received for %s (--stall-timeout)", d)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func httpError(code int) string {
	if code == 0 {
		return "no HTTP response"
	}
	if code >= 300 && code <= 399 {
		return fmt.Sprintf("HTTP %d %s without a usable Location", code, http.StatusText(code))
	}
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("HTTP %d %s", code, text)
	}
	return fmt.Sprintf("HTTP %d", code)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
