package engine

// Per-host feedback end to end: a 429 pauses the whole host, and a host
// that resets connections above a number is held below it.

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// arrival is one request as the server saw it.
type arrival struct {
	at, done time.Time
	inflight int // requests being served when it came, itself included
	index    int // how many came before it
}

type logServer struct {
	*httptest.Server
	mu       sync.Mutex
	log      []*arrival
	inflight int
}

func (s *logServer) arrive() *arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight++
	a := &arrival{at: time.Now(), inflight: s.inflight, index: len(s.log)}
	s.log = append(s.log, a)
	return a
}

func (s *logServer) leave(a *arrival) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	a.done = time.Now()
}

// newLogServer logs every request and serves /f/NAME (3000 bytes) unless
// refuse, called first, has answered it.
func newLogServer(t *testing.T, refuse func(a *arrival, rw http.ResponseWriter) bool) *logServer {
	s := &logServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		a := s.arrive()
		defer s.leave(a)
		if !refuse(a, rw) {
			_, _ = rw.Write(testserver.Content(strings.TrimPrefix(r.URL.Path, "/f/"), 3000))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// fetchAll downloads n files and checks that each one ended whole.
func (s *logServer) fetchAll(t *testing.T, cfg Config, n int) Stats {
	t.Helper()
	dir := t.TempDir()
	var entries []Entry
	for i := 0; i < n; i++ {
		name := "f" + strconv.Itoa(i)
		entries = append(entries, Entry{Source: name, URL: s.URL + "/f/" + name, Path: filepath.Join(dir, name)})
	}
	rec, st := run(t, context.Background(), cfg, entries)
	if st.OK != n {
		t.Fatalf("%+v\n%+v", st, rec.results)
	}
	for _, en := range entries {
		wantWhole(t, en.Path, en.Source, 3000)
	}
	return st
}

// The first of 40 parallel requests gets 429 with Retry-After: 2 while
// the other 39 are in flight. Those finish during the pause, and the 40
// entries behind them must not start: the server gets nothing until the
// pause is over, then one probe, and only once the probe is answered the
// rest.
func TestRetryAfterPausesTheHost(t *testing.T) {
	const n, wave = 80, 40
	var w testserver.Wave
	w.Set(wave)
	var mu sync.Mutex
	var sent429 time.Time
	first := true
	s := newLogServer(t, func(a *arrival, rw http.ResponseWriter) bool {
		w.Hold() // the first 40 are all in flight before any answer
		mu.Lock()
		throttle := first
		first = false
		if throttle {
			sent429 = time.Now()
		}
		mu.Unlock()
		if throttle {
			rw.Header().Set("Retry-After", "2")
			rw.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		if a.index < wave {
			time.Sleep(300 * time.Millisecond) // the wave ends during the pause
		}
		return false
	})
	cfg := retryCfg()
	cfg.Parallel, cfg.RetryMaxDelay = wave, 10*time.Second
	st := s.fetchAll(t, cfg, n)
	if w.Late() {
		t.Fatal("the first 40 requests were never in flight together")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	after := append([]*arrival(nil), s.log[wave:]...)
	sort.Slice(after, func(i, j int) bool { return after[i].at.Before(after[j].at) })
	if len(after) != n-wave+1 {
		t.Fatalf("%d requests after the first wave, want %d (the 40 left and the throttled one's retry)", len(after), n-wave+1)
	}
	probe := after[0]
	mu.Lock()
	defer mu.Unlock()
	if probe.at.Before(sent429.Add(2 * time.Second)) {
		t.Errorf("a request came %v after the 429, before its Retry-After of 2s", probe.at.Sub(sent429))
	}
	for _, a := range after[1:] {
		if a.at.Before(probe.done) {
			t.Fatalf("a request came %v before the probe was answered", probe.done.Sub(a.at))
		}
	}
	if len(st.Hosts) != 1 {
		t.Fatalf("host stats %+v, want the one host", st.Hosts)
	}
	h := st.Hosts[0]
	if h.Throttles[429] != 1 || h.Paused < 2*time.Second || h.Peak < wave || h.Lowest != wave/2 {
		t.Errorf("host stats %+v: want one 429, paused >= 2s, peak >= 40, lowest 20", h)
	}
}

// The server resets every request that comes while 4 are being served.
// With -j 16 every file still ends whole, and the limit settles at or
// below 4: the last quarter of the requests met no more than 4 at once.
func TestConnectionResetsLowerTheLimit(t *testing.T) {
	const n, most = 80, 4
	s := newLogServer(t, func(a *arrival, rw http.ResponseWriter) bool {
		if a.inflight <= most {
			time.Sleep(20 * time.Millisecond) // so that requests overlap
			return false
		}
		resetConn(rw) // as an overloaded server's accept queue gives
		return true
	})
	cfg := retryCfg()
	cfg.Parallel, cfg.Retry, cfg.RetryMaxDelay = 16, 30, 100*time.Millisecond
	st := s.fetchAll(t, cfg, n)
	s.mu.Lock()
	defer s.mu.Unlock()
	peak, late := 0, 0
	for i, a := range s.log {
		peak = max(peak, a.inflight)
		if i >= len(s.log)*3/4 {
			late = max(late, a.inflight)
		}
	}
	if peak <= 1 || late < 2 {
		t.Errorf("the server had at most %d requests at once, %d in the last quarter: want more than 1 in both (the limit settles at the 4 it serves, not below)", peak, late)
	}
	if late > most {
		t.Errorf("the last quarter of %d requests met %d at once, want <= %d", len(s.log), late, most)
	}
	if len(st.Hosts) != 1 || st.Hosts[0].Lowest == 0 || st.Hosts[0].Lowest > most || st.Hosts[0].ConnFails == 0 {
		t.Errorf("host stats %+v: want a limit lowered to <= %d by refused connections", st.Hosts, most)
	}
}

// An outage: the server resets every one of the first 16 requests (the
// whole first wave of -j 16), then serves all. Nothing survived the burst,
// so it says nothing of how many the host can take: the run must not stay
// at the one connection the burst stepped down to, but grow back.
func TestOutageLeavesNoCeiling(t *testing.T) {
	const n, wave = 64, 16
	s := newLogServer(t, func(a *arrival, rw http.ResponseWriter) bool {
		if a.index >= wave {
			time.Sleep(20 * time.Millisecond) // so that requests overlap
			return false
		}
		resetConn(rw)
		return true
	})
	cfg := retryCfg()
	cfg.Parallel, cfg.Retry, cfg.RetryMaxDelay = wave, 30, 100*time.Millisecond
	st := s.fetchAll(t, cfg, n)
	s.mu.Lock()
	defer s.mu.Unlock()
	late := 0
	for i, a := range s.log {
		if i >= len(s.log)*3/4 {
			late = max(late, a.inflight)
		}
	}
	if late < 4 || late > wave {
		t.Errorf("the last quarter of %d requests met at most %d at once, want 4 to %d (grown back after the outage)", len(s.log), late, wave)
	}
	if len(st.Hosts) != 1 || st.Hosts[0].ConnFails < wave/2 {
		t.Errorf("host stats %+v: want the resets counted", st.Hosts)
	}
}

// resetConn closes the request's connection with a reset.
func resetConn(rw http.ResponseWriter) {
	c, _, err := rw.(http.Hijacker).Hijack()
	if err == nil {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}
