//go:build mgtest

package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Each switch turns its mechanism off: no writer thread with writers off,
// no unnamed file with unnamed off; and each is on by default.
func TestSwitchesTurnTheirMechanismOff(t *testing.T) {
	everyFillFast(t)
	s := newServer(t)
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%v", off), func(t *testing.T) {
			dir := t.TempDir()
			entries, _ := mixedEntries(s, dir)
			async := asyncTransfers()
			_, st := run(t, context.Background(), Config{Parallel: 6, Tuning: Tuning{NoWriters: off, NoUnnamed: off}}, entries)
			if st.OK != len(entries) {
				t.Fatalf("%+v", st)
			}
			if got := asyncTransfers() - async; (got == 0) != off {
				t.Errorf("%d transfers went through a writer thread with writers off=%v", got, off)
			}
			if unnamed := tmpfileState() >= 10; unnamed == off {
				t.Errorf("unnamed files in use %v with unnamed off=%v", unnamed, off)
			}
		})
	}
}

// halfThenWait serves n bytes of body(path), the second half only once
// release is closed.
func halfThenWait(n int, release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(n))
		b := body(r.URL.Path, n)
		_, _ = w.Write(b[:n/2])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(b[n/2:])
	}
}

// releaseAt releases the writers and the server's second half once the
// transfer has accepted at bytes.
type releaseAt struct {
	recorder
	at      int64
	once    sync.Once
	release func()
}

func (r *releaseAt) Progress(p Progress) {
	if p.Bytes >= r.at {
		r.once.Do(r.release)
	}
}

// A transfer (HTTP/1.1 or an HTTP/2 stream) that finds its write buffers
// all queued to a held writer writes the next full buffer itself instead of waiting in libcurl's write
// callback: with the writer held, it accepts half of a 16 MiB body, far
// more than the 2 MiB its buffers hold. A transfer that waited would stop
// there until a watchdog released the writer, and the test fails. The file
// is whole afterwards.
func TestTransferNeverWaitsForItsWriter(t *testing.T) {
	const n = 16 << 20
	for _, c := range []struct {
		name string
		h2   bool
	}{{"http2", true}, {"http1", false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			release := make(chan struct{})
			var srv *httptest.Server
			cfg := Config{Parallel: 1}
			if c.h2 {
				var ca string
				srv, ca, _ = h2Server(t, dir, halfThenWait(n, release))
				cfg.CACert, cfg.Protocols = ca, []string{"https"}
			} else {
				srv = httptest.NewServer(halfThenWait(n, release))
				t.Cleanup(srv.Close)
			}
			holdWriters(true)
			t.Cleanup(func() { holdWriters(false) })
			var once sync.Once
			free := func() {
				once.Do(func() {
					holdWriters(false)
					close(release)
				})
			}
			var stuck atomic.Bool
			watchdog := time.AfterFunc(30*time.Second, func() { stuck.Store(true); free() })
			defer watchdog.Stop()
			obs := &releaseAt{at: n / 2, release: free}
			path := filepath.Join(dir, "big")
			st := runObserved(t, context.Background(), cfg, []Entry{{Source: "big", URL: srv.URL + "/big", Path: path}}, obs)
			if stuck.Load() {
				t.Fatalf("the transfer stopped short of half its body while its writer was held")
			}
			if st.OK != 1 {
				t.Fatalf("%+v: %+v", st, obs.results)
			}
			fileIs(t, path, body("/big", n))
		})
	}
}
