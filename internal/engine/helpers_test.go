package engine

// The engine tests' loopback server, observer and runner.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// attemptLog keeps the -v lines of a run: its add is Config.OnAttempt.
type attemptLog struct {
	mu  sync.Mutex
	got []Attempt
}

func (l *attemptLog) add(a Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, a)
}

func (l *attemptLog) all() []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Attempt(nil), l.got...)
}

// recorder is an Observer that keeps every result.
type recorder struct {
	mu      sync.Mutex
	results []Result
	maxAct  int
}

func (r *recorder) Progress(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.Active > r.maxAct {
		r.maxAct = p.Active
	}
}

func (r *recorder) Result(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res)
}

func (r *recorder) bySource() map[string]Result {
	m := map[string]Result{}
	for _, res := range r.results {
		m[res.Source] = res
	}
	return m
}

// body returns the deterministic content served for a path of n bytes.
func body(name string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ name[i%len(name)]
	}
	return b
}

// server serves /size/N/NAME with N bytes, /chunked/, /hold/ and /gate/ (below),
// /status/CODE, /empty, /redirect/NAME -> /size/100/NAME, /noloc (302
// without Location), and counts requests in flight.
type server struct {
	*httptest.Server
	inflight, maxInflight atomic.Int64
	hold                  chan struct{} // /hold/ waits on it until the test ends
	gate                  chan struct{} // /gate/ waits on it until openGate
	gateOnce              sync.Once

	// wave, set before a run, holds the first /size/ requests until that
	// many are in flight at once (testserver.Wave).
	wave testserver.Wave
}

// wantConcurrency checks that the server had exactly n requests at once at
// some point (the wave, set with wave.Set(n), proved the lower bound) and
// never more.
func (s *server) wantConcurrency(t *testing.T, n int, what string) {
	t.Helper()
	if m := s.maxInflight.Load(); m > int64(n) || s.wave.Late() || m < int64(n) {
		t.Errorf("server saw at most %d requests at once with %s (the first %d never all in flight: %v), want %d",
			m, what, n, s.wave.Late(), n)
	}
}

// openGate lets the /gate/ requests through, now and later.
func (s *server) openGate() { s.gateOnce.Do(func() { close(s.gate) }) }

func newServer(t *testing.T) *server {
	s := &server{hold: make(chan struct{}), gate: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/size/", func(w http.ResponseWriter, r *http.Request) {
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		for {
			m := s.maxInflight.Load()
			if n <= m || s.maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		s.wave.Hold() // counted in flight while held
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/size/"), "/", 2)
		size, _ := strconv.Atoi(parts[0])
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, _ = w.Write(body(parts[1], size))
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, "error page %d\n", code)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/size/100/"+strings.TrimPrefix(r.URL.Path, "/redirect/"), http.StatusFound)
	})
	mux.HandleFunc("/noloc", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFound)
		_, _ = w.Write([]byte("moved somewhere"))
	})
	sizeName := func(r *http.Request, prefix string) (int, string) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, prefix), "/", 2)
		n, _ := strconv.Atoi(parts[0])
		return n, parts[1]
	}
	// /chunked/N/NAME: the body of /size/N/NAME without a Content-Length,
	// flushed every 64 KiB.
	mux.HandleFunc("/chunked/", func(w http.ResponseWriter, r *http.Request) {
		n, name := sizeName(r, "/chunked/")
		b := body(name, n)
		for len(b) > 0 {
			k := min(len(b), 64<<10)
			_, _ = w.Write(b[:k])
			w.(http.Flusher).Flush()
			b = b[k:]
		}
	})
	// /hold/N/NAME: N bytes of a body announced twice as long, then nothing
	// until the test ends or the client goes away.
	mux.HandleFunc("/hold/", func(w http.ResponseWriter, r *http.Request) {
		n, name := sizeName(r, "/hold/")
		w.Header().Set("Content-Length", strconv.Itoa(2*n))
		w.Header().Set("ETag", `"hold-`+name+`"`)
		w.Header().Set("Accept-Ranges", "bytes")
		_, _ = w.Write(body(name, n))
		w.(http.Flusher).Flush()
		select {
		case <-s.hold:
		case <-r.Context().Done():
		}
	})
	// /gate/N/NAME: /size/N/NAME once the test opens the gate.
	mux.HandleFunc("/gate/", func(w http.ResponseWriter, r *http.Request) {
		n, name := sizeName(r, "/gate/")
		select {
		case <-s.gate:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write(body(name, n))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	t.Cleanup(s.openGate)
	t.Cleanup(func() { close(s.hold) }) // cleanups run last-first: release handlers, then Close
	return s
}

func run(t *testing.T, ctx context.Context, cfg Config, entries []Entry) (*recorder, Stats) {
	t.Helper()
	rec := &recorder{}
	return rec, runObserved(t, ctx, cfg, entries, rec)
}

// runObserved is run with an observer of the caller's.
func runObserved(t *testing.T, ctx context.Context, cfg Config, entries []Entry, obs Observer) Stats {
	t.Helper()
	if cfg.Parallel == 0 {
		cfg.Parallel = 4
	}
	if cfg.Protocols == nil {
		cfg.Protocols = []string{"http", "https"}
	}
	if cfg.MaxRedirs == 0 {
		cfg.MaxRedirs = 10
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	ch := make(chan []Entry)
	go func() {
		defer close(ch)
		// Batches of 3 exercise batch boundaries.
		for i := 0; i < len(entries); i += 3 {
			select {
			case ch <- append([]Entry(nil), entries[i:min(i+3, len(entries))]...):
			case <-ctx.Done():
				return
			}
		}
	}()
	st, err := Run(ctx, cfg, ch, obs)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func noPartFiles(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, PartSuffix) {
			t.Errorf("leftover partial file %s", p)
		}
		return nil
	})
}
