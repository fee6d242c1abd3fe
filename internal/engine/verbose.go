package engine

// Attempts as -v shows them: what libcurl knows of a finished transfer
// (connection, address, HTTP version, redirects) and what follows it.
// Read only when Config.OnAttempt is set: a run without -v pays nothing.

// #include <curl/curl.h>
import "C"

import (
	"strconv"
	"time"

	curl "github.com/andelf/go-curl"
)

// Attempt is one finished transfer attempt of an entry (or of one range
// of a split download).
type Attempt struct {
	Source string // the entry's source (FILE:LINE, arg:N)
	URL    string // the URL requested (as written, when it is the entry's)
	Range  string // "START-END" for a range of a split download, else ""
	N      int    // the entry's attempt number, 1-based; for a range of a split download, the range's

	NewConnection bool   // a connection was opened for it, else one was reused
	IP            string // the address it talked to, "" when it connected nowhere
	Port          int
	HTTPVersion   string // "1.0", "1.1", "2", "3"; "" when no HTTP response came
	HTTPCode      int
	Redirects     int    // redirects followed
	EffectiveURL  string // where the last redirect led (the URL when none)
	Bytes         int64  // body bytes of this attempt
	Duration      time.Duration

	// Outcome: "ok", "unchanged" (-N: a 304), "retry" (after Delay),
	// "next URL" (the entry's next mirror, at once) or "failed"; Reason says why
	// it was not ok, CurlCode is libcurl's code (0 for an HTTP status).
	Outcome  string
	Reason   string
	CurlCode int
	Delay    time.Duration
}

// attemptOf reads what libcurl knows of the transfer t, which has not yet
// been removed (after removal its handle may be freed); nil without -v.
func (e *engine) attemptOf(t *transfer, got int64) *Attempt {
	if e.cfg.OnAttempt == nil {
		return nil
	}
	j := t.job
	a := &Attempt{
		Source:        j.entry.Source,
		URL:           t.url,
		N:             j.tries.rounds, // a whole file's, or a split's probe's
		NewConnection: getInt(t.easy, curl.INFO_NUM_CONNECTS) > 0,
		IP:            getString(t.easy, curl.CurlInfo(C.CURLINFO_PRIMARY_IP)),
		Port:          getInt(t.easy, curl.CurlInfo(C.CURLINFO_PRIMARY_PORT)),
		HTTPCode:      getInt(t.easy, curl.INFO_RESPONSE_CODE),
		Redirects:     getInt(t.easy, curl.INFO_REDIRECT_COUNT),
		EffectiveURL:  getString(t.easy, curl.INFO_EFFECTIVE_URL),
		Bytes:         got,
		Duration:      time.Since(t.start),
	}
	if t.url == j.entry.URL {
		a.URL = j.entry.AsWritten() // as the list has it, like its result
	}
	if t.seg != nil {
		a.Range = strconv.FormatInt(t.seg.start+t.seg.done, 10) + "-" + strconv.FormatInt(t.seg.end-1, 10)
		if !t.seg.probe {
			a.N = t.seg.attempts // the range's own: the entry's counts every range
		}
	}
	if a.HTTPCode > 0 && isHTTP(a.EffectiveURL) {
		a.HTTPVersion = httpVersionName(getInt(t.easy, infoHTTPVersion))
	}
	return a
}

// httpVersionName names a CURLINFO_HTTP_VERSION value.
func httpVersionName(v int) string {
	switch v {
	case 1: // CURL_HTTP_VERSION_1_0
		return "1.0"
	case 2: // CURL_HTTP_VERSION_1_1
		return "1.1"
	case httpVersion2:
		return "2"
	case httpVersion3:
		return "3"
	}
	return ""
}

// noteAttempt hands a to OnAttempt with the verdict on it; delay is the
// backoff of a retry.
func (e *engine) noteAttempt(a *Attempt, v verdict, delay time.Duration) {
	if a == nil {
		return
	}
	switch {
	case v.kind == vOK || v.kind == vCompleted:
		a.Outcome = "ok"
	case v.kind == vUnchanged:
		a.Outcome = "unchanged"
	case v.moved:
		a.Outcome = "next URL" // of the entry's mirrors, at once
	case v.kind == vRetry || v.kind == vRestart || v.kind == vUnsplit:
		a.Outcome, a.Delay = "retry", max(delay, 0)
	default:
		a.Outcome = "failed"
	}
	if a.Outcome != "ok" {
		a.Reason, a.CurlCode = v.message(), v.curlCode
	}
	e.cfg.OnAttempt(*a)
}
