package report

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/engine"
)

func TestAttemptLine(t *testing.T) {
	for _, c := range []struct {
		a    engine.Attempt
		want string
	}{
		{engine.Attempt{Source: "arg:1", URL: "http://h/r", N: 1, NewConnection: true, IP: "127.0.0.1", Port: 8080,
			HTTPVersion: "1.1", HTTPCode: 200, Redirects: 1, EffectiveURL: "http://h/a", Bytes: 6, Duration: 2 * time.Millisecond, Outcome: "ok"},
			"multiget: arg:1 attempt 1 http://h/r: new connection to 127.0.0.1:8080, HTTP/1.1 200, 1 redirect to http://h/a, 6 B in 2ms: ok"},
		{engine.Attempt{Source: "l:4", URL: "https://u:pw@h/b", N: 2, IP: "::1", Port: 443, HTTPVersion: "2", HTTPCode: 503,
			Redirects: 2, EffectiveURL: "https://u:pw@h/c", Duration: time.Millisecond, Outcome: "retry", Delay: 1200 * time.Millisecond,
			Reason: "HTTP 503 Service Unavailable"},
			"multiget: l:4 attempt 2 https://u:***@h/b: reused connection to [::1]:443, HTTP/2 503, 2 redirects to https://u:***@h/c, 0 B in 1ms: retry in 1.2s: HTTP 503 Service Unavailable"},
		{engine.Attempt{Source: "arg:2", URL: "http://h/big", Range: "0-99", N: 3, Outcome: "failed", Reason: "refused\n(curl 7)"},
			`multiget: arg:2 attempt 3 http://h/big range 0-99: no connection, 0 B in 0ms: failed: refused\n(curl 7)`},
		{engine.Attempt{Source: "arg:3", URL: "ftp://h/f", N: 1, NewConnection: true, IP: "10.0.0.1", Port: 21, HTTPCode: 226, Outcome: "ok"},
			"multiget: arg:3 attempt 1 ftp://h/f: new connection to 10.0.0.1:21, response 226, 0 B in 0ms: ok"},
	} {
		if got := AttemptLine(c.a); got != c.want {
			t.Errorf("AttemptLine:\n got %s\nwant %s", got, c.want)
		}
	}
}

// recorder is an Observer that also takes -v lines, recording the order
// of everything it is given.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Result(res engine.Result) { r.add("result " + res.Source) }
func (r *recorder) Progress(engine.Progress) {}
func (r *recorder) Attempt(a engine.Attempt) { r.add(fmt.Sprintf("attempt %s %d", a.Source, a.N)) }
func (r *recorder) add(s string) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

// -v lines keep their place among the results, however the writer's
// batches fall.
func TestQueueKeepsAttemptsInOrder(t *testing.T) {
	rec := &recorder{}
	q := NewQueue(rec)
	var want []string
	for i := range 2000 {
		src := fmt.Sprint(i)
		for n := 1; n <= i%3; n++ {
			q.Attempt(engine.Attempt{Source: src, N: n})
			want = append(want, fmt.Sprintf("attempt %s %d", src, n))
		}
		q.Result(engine.Result{Source: src})
		want = append(want, "result "+src)
	}
	q.Attempt(engine.Attempt{Source: "last", N: 1})
	want = append(want, "attempt last 1")
	q.Close()
	if strings.Join(rec.got, "\n") != strings.Join(want, "\n") {
		for i := range min(len(rec.got), len(want)) {
			if rec.got[i] != want[i] {
				t.Fatalf("event %d is %q, want %q (%d events, want %d)", i, rec.got[i], want[i], len(rec.got), len(want))
			}
		}
		t.Fatalf("%d events, want %d", len(rec.got), len(want))
	}
}

// The Reporter writes -v lines on Err only.
func TestReporterWritesAttemptsOnStderr(t *testing.T) {
	var out, errb bytes.Buffer
	r := New(Options{Out: &out, Err: &errb, Mode: ModeNone})
	r.Attempt(engine.Attempt{Source: "arg:1", URL: "http://h/a", N: 1, Outcome: "ok"})
	r.Result(engine.Result{Source: "arg:1", URL: "http://h/a", Path: "a", Status: engine.StatusOK})
	if strings.Contains(out.String(), "attempt") || !strings.HasPrefix(errb.String(), "multiget: arg:1 attempt 1 http://h/a: ") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}
