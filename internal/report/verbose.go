package report

// -v: a line per transfer attempt on Err, written off the transfer loop
// through the Queue, in order with the result lines.

import (
	"strconv"
	"strings"

	"github.com/multiget/multiget/internal/engine"
)

// Attempt writes the -v line of one attempt on Err, above the bar when
// one is drawn, so that the bar is never torn.
func (r *Reporter) Attempt(a engine.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	line := AttemptLine(a)
	if r.bar != nil {
		r.aboveBar(line)
		return
	}
	r.write(r.o.Err, line+"\n")
}

// AttemptLine is the -v line of a: which entry and attempt, the
// connection (new or reused, and to what address), the HTTP version and
// status, the redirects followed and where to, what came and what
// follows:
//
//	multiget: arg:1 attempt 1 http://h/r: new connection to 127.0.0.1:8080, HTTP/1.1 200, 1 redirect to http://h/a, 6 B in 2ms: ok
//	multiget: arg:2 attempt 1 http://h/b: reused connection to 127.0.0.1:8080, HTTP/1.1 503, 0 B in 1ms: retry in 1.2s: HTTP 503 Service Unavailable
//
// The outcome is ok, unchanged (-N: a 304), retry in DUR, next URL (an
// entry's mirror, at once) or failed.
//
// URLs show no password (RedactURL).
func AttemptLine(a engine.Attempt) string {
	var b strings.Builder
	b.WriteString("multiget: " + Sanitize(a.Source) + " attempt " + strconv.Itoa(a.N) + " " + Sanitize(RedactURL(a.URL)))
	if a.Range != "" {
		b.WriteString(" range " + a.Range)
	}
	b.WriteString(": ")
	switch {
	case a.IP == "":
		b.WriteString("no connection")
	case a.NewConnection:
		b.WriteString("new connection to " + hostPort(a.IP, a.Port))
	default:
		b.WriteString("reused connection to " + hostPort(a.IP, a.Port))
	}
	if a.HTTPVersion != "" {
		b.WriteString(", HTTP/" + a.HTTPVersion + " " + strconv.Itoa(a.HTTPCode))
	} else if a.HTTPCode > 0 {
		b.WriteString(", response " + strconv.Itoa(a.HTTPCode))
	}
	if a.Redirects > 0 {
		b.WriteString(", " + plural(a.Redirects, "redirect") + " to " + Sanitize(RedactURL(a.EffectiveURL)))
	}
	b.WriteString(", " + FormatSize(a.Bytes) + " in " + FormatDuration(a.Duration) + ": " + a.Outcome)
	if a.Outcome == "retry" {
		b.WriteString(" in " + FormatDuration(a.Delay))
	}
	if a.Reason != "" {
		b.WriteString(": " + Sanitize(a.Reason))
	}
	return b.String()
}

func hostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return ip + ":" + strconv.Itoa(port)
}
