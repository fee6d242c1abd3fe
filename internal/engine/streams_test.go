package engine

// What -j, --per-host and --streams count over HTTP/2 (mux.go): against a
// real HTTP/2 server, through real libcurl.

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// streamCounter answers /f<i> over HTTP/2 only, counting the requests in
// flight. The first pass requests go through at once (those started
// before the engine learns the host multiplexes, counted as connections);
// the next wave requests are held until they are all in flight.
type streamCounter struct {
	pass                    int64
	delay                   time.Duration
	requests, inflight, max atomic.Int64
	wave                    testserver.Wave
}

func (c *streamCounter) handler(size int) http.Handler {
	inner := h2Only(size)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.inflight.Add(1)
		defer c.inflight.Add(-1)
		for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
		}
		time.Sleep(c.delay)
		if c.requests.Add(1) > max(c.pass, 1) {
			c.wave.Hold()
		}
		inner.ServeHTTP(w, r)
	})
}

// wantAtOnce checks that n requests were in flight at once at some point
// (the wave proves it) and never more.
func (c *streamCounter) wantAtOnce(t *testing.T, n int, what string) {
	t.Helper()
	if m := c.max.Load(); m != int64(n) || c.wave.Late() {
		t.Errorf("server saw at most %d requests at once with %s (the wave of %d never all in flight: %v), want %d",
			m, what, n, c.wave.Late(), n)
	}
}

// runStreams downloads n small files over HTTP/2 with cfg, the server
// passing pass requests and then holding a wave of atOnce; it checks every
// file, that atOnce were in flight at once and never more, and returns
// the TLS connections the server saw.
func runStreams(t *testing.T, cfg Config, n int, pass, atOnce int64, what string) int64 {
	t.Helper()
	dir := t.TempDir()
	c := &streamCounter{pass: pass}
	c.wave.Set(int(atOnce))
	srv, ca, conns := h2Server(t, dir, c.handler(3000))
	entries := smallFiles(srv, dir, n)
	cfg.CACert, cfg.Protocols = ca, []string{"https"}
	_, st := run(t, context.Background(), cfg, entries)
	if st.OK != len(entries) {
		t.Fatalf("%s: %+v", what, st)
	}
	checkSmallFiles(t, entries, 3000)
	c.wantAtOnce(t, int(atOnce), what)
	return conns.Load()
}

// -j 1 --streams 10 over HTTP/2: once the first transfer has shown the
// host multiplexes, one -j slot carries 10 transfers, all on the one
// connection, and never more.
func TestStreamsPerSlot(t *testing.T) {
	if n := runStreams(t, Config{Parallel: 1, Streams: 10}, 60, 1, 10, "-j 1 --streams 10"); n != 1 {
		t.Errorf("%d TLS connections, want 1", n)
	}
}

// --per-host 2 --streams 5 over HTTP/2: the host has two connections'
// worth of streams, 10 transfers at once, however large -j is; libcurl
// caps each connection at 5 streams (CURLMOPT_MAX_CONCURRENT_STREAMS), so
// the ten take two connections. The two transfers started before the
// host was known to multiplex share the first (CURLOPT_PIPEWAIT). Before
// libcurl 8.0 a multiplexing host keeps to one connection (mux.go,
// oneConn): 5 at once on one.
func TestPerHostCountsConnectionsOverHTTP2(t *testing.T) {
	cfg := Config{Parallel: 64, PerHost: 2, Streams: 5}
	atOnce, wantConns := int64(10), int64(2)
	if newMultiplexing(5).oneConn {
		atOnce, wantConns = 5, 1
	}
	if n := runStreams(t, cfg, 60, 2, atOnce, "--per-host 2 --streams 5"); n != wantConns {
		t.Errorf("%d TLS connections, want %d (5 streams each)", n, wantConns)
	}
}

// Config.InFlight bounds the transfers at once, streams included, below
// what -j and --streams would allow (the descriptor limit, see
// InFlightCap).
func TestInFlightBoundsStreams(t *testing.T) {
	runStreams(t, Config{Parallel: 4, Streams: 100, InFlight: 6}, 40, 1, 6, "-j 4 --streams 100 and 6 in flight")
}
