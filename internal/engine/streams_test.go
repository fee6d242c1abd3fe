package engine

// What -j, --per-host and --streams count over HTTP/2 (mux.go): against a
// real HTTP/2 server, through real libcurl.

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync"
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
		if c.requests.Add(1) > c.pass {
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
// libcurl 8.0 the second connection is opened by one stream before the
// others share it (mux.go, ramp); before 7.80, which cannot say when that
// is, a multiplexing host keeps to one connection: 5 at once on one.
func TestPerHostCountsConnectionsOverHTTP2(t *testing.T) {
	cfg := Config{Parallel: 64, PerHost: 2, Streams: 5}
	atOnce, wantConns := int64(10), int64(2)
	if m := newMultiplexing(5, Tuning{}); m.oneConn && !m.ramp {
		atOnce, wantConns = 5, 1
	}
	if n := runStreams(t, cfg, 60, 2, atOnce, "--per-host 2 --streams 5"); n != wantConns {
		t.Errorf("%d TLS connections, want %d (5 streams each)", n, wantConns)
	}
}

// connTracker wraps a handler, noting how many client connections carry
// requests at once at most (a connection closing or idle carries none).
type connTracker struct {
	mu   sync.Mutex
	busy map[string]int // requests in flight per client connection
	max  int
}

func (c *connTracker) wrap(inner http.Handler) http.Handler {
	c.busy = map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.busy[r.RemoteAddr]++
		c.max = max(c.max, len(c.busy))
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			if c.busy[r.RemoteAddr]--; c.busy[r.RemoteAddr] == 0 {
				delete(c.busy, r.RemoteAddr)
			}
			c.mu.Unlock()
		}()
		inner.ServeHTTP(w, r)
	})
}

func (c *connTracker) most() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

// --per-host 2 without --streams against a server allowing 5 streams per
// connection, answering each request after 20 ms: the host's cap starts
// at 100 and finds the server's limit, and whatever libcurl would open
// meanwhile, no more than two connections ever carry requests at once
// (CURLMOPT_MAX_HOST_CONNECTIONS); both do (more than one connection's 5
// requests in flight), and every file arrives.
func TestPerHostHoldsWhileTheCapIsLearnt(t *testing.T) {
	const limit = 5
	dir := t.TempDir()
	srv, ca, c, ct, _ := limitedServer(t, dir, limit)
	entries := smallFiles(srv, dir, 100)
	_, st := run(t, context.Background(), Config{Parallel: 64, PerHost: 2, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if conns := ct.most(); conns > 2 {
		t.Errorf("%d connections carried requests at once with --per-host 2", conns)
	}
	if m := c.max.Load(); m <= limit || m > 2*limit {
		t.Errorf("server saw at most %d requests at once, want %d-%d (two connections of %d streams)", m, limit+1, 2*limit, limit)
	}
}

// A stream waiting inside libcurl for room (--per-host 1 to a server
// allowing one stream per connection: the second of two streams has no
// connection to go on) is not stalled: its request has not gone out. The
// first file shows the host multiplexes; the next two start together as
// streams, /f1 trickling for a second, /f2 waiting all that time for it,
// three times --stall-timeout, and then fetched.
func TestWaitingForRoomIsNoStall(t *testing.T) {
	dir := t.TempDir()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := body(r.URL.Path, 3000)
		if r.URL.Path != "/f1" {
			_, _ = w.Write(b)
			return
		}
		for i := 0; i < 20; i++ { // 150 bytes every 50 ms
			_, _ = w.Write(b[i*150 : (i+1)*150])
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	srv, ca, _ := tlsServer(t, dir, h, true, func(s *httptest.Server) {
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1}
	})
	entries := smallFiles(srv, dir, 3)
	cfg := Config{Parallel: 4, PerHost: 1, StallTimeout: 300 * time.Millisecond, CACert: ca, Protocols: []string{"https"}}
	rec, st := run(t, context.Background(), cfg, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v: %+v", st, rec.results)
	}
	checkSmallFiles(t, entries, 3000)
	for _, r := range rec.results {
		if r.Attempts != 1 {
			t.Errorf("%s took %d attempts, want 1 (a wait for room is no stall)", r.Source, r.Attempts)
		}
	}
}

// Config.InFlight bounds the transfers at once, streams included, below
// what -j and --streams would allow (the descriptor limit, see
// InFlightCap).
func TestInFlightBoundsStreams(t *testing.T) {
	runStreams(t, Config{Parallel: 4, Streams: 100, InFlight: 6}, 40, 1, 6, "-j 4 --streams 100 and 6 in flight")
}

// 30 files at -j 4 --streams 30 over HTTP/2, the server holding every
// request until all 30 are in flight: the four transfers that waited for
// the host's first connection show it multiplexes as soon as they share
// it, before any response (conns.go), so the other 26 start as streams in
// the same round trip. Learnt only from the first response, four would be
// all that ever ran before the server answered. (With more files than one
// connection's streams, libcurl 8 would rightly open a second connection
// for them within -j.)
func TestMultiplexingLearntBeforeAnyResponse(t *testing.T) {
	if n := runStreams(t, Config{Parallel: 4, Streams: 30}, 30, 0, 30, "-j 4 --streams 30"); n != 1 {
		t.Errorf("%d TLS connections, want 1", n)
	}
}

// Without --streams a connection carries what the server allows: a server
// allowing 150 streams gets 150 at once on one connection with -j 1, past
// the 100 a connection starts with, and never more than one stream beyond
// them (the one that found the limit by needing a connection of its own).
// Over TLS 1.2: over TLS 1.3, before libcurl 8.0, a host's cap stops at
// 100 (mux.go, maxPer).
func TestStreamsGrowToWhatTheServerAllows(t *testing.T) {
	const limit = 150
	dir := t.TempDir()
	c := &streamCounter{pass: 1}
	c.wave.Set(limit)
	srv, ca, conns := tlsServer(t, dir, c.handler(3000), true, func(s *httptest.Server) {
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: limit}
		s.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	})
	entries := smallFiles(srv, dir, 400)
	_, st := run(t, context.Background(), Config{Parallel: 1, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if m := c.max.Load(); m < limit || m > limit+1 || c.wave.Late() {
		t.Errorf("server saw at most %d requests at once (the wave of %d all in flight: %v), want %d or %d",
			m, limit, !c.wave.Late(), limit, limit+1)
	}
	if n := conns.Load(); n < 1 || n > 2 {
		t.Errorf("%d TLS connections, want 1 or 2", n)
	}
}

// MULTIGET_OFF=streamprobe keeps a connection at 100 streams whatever the
// server allows.
func TestStreamProbeOff(t *testing.T) {
	cfg := Config{Parallel: 1, Tuning: Tuning{NoStreamProbe: true}}
	dir := t.TempDir()
	c := &streamCounter{pass: 1}
	c.wave.Set(defaultStreams)
	srv, ca, _ := tlsServer(t, dir, c.handler(3000), true, func(s *httptest.Server) {
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 150}
	})
	entries := smallFiles(srv, dir, 300)
	cfg.CACert, cfg.Protocols = ca, []string{"https"}
	_, st := run(t, context.Background(), cfg, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	c.wantAtOnce(t, defaultStreams, "MULTIGET_OFF=streamprobe")
}

// A server allowing fewer streams than a connection starts with: the host
// gets as many connections of 5 streams as -j allows, 4 x 5 = 20 requests
// in flight at once. Before libcurl 8.0 this takes the ramp (mux.go): the
// host opens one more connection at a time, as the streams it opened fill
// the last; without it the host kept to one connection, 5 at once.
func TestFewStreamsSpreadOverConnections(t *testing.T) {
	const limit, par = 5, 4
	dir := t.TempDir()
	// The first requests pass; a wave of 20 is then held until all are in
	// flight, which needs every -j connection carrying its 5 streams.
	c := &streamCounter{pass: 30}
	c.wave.Set(limit * par)
	srv, ca, conns := tlsServer(t, dir, c.handler(3000), true, func(s *httptest.Server) {
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: limit}
	})
	entries := smallFiles(srv, dir, 200)
	_, st := run(t, context.Background(), Config{Parallel: par, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if m := c.max.Load(); c.wave.Late() || m > limit*par {
		t.Errorf("server saw at most %d requests at once (the wave of %d all in flight: %v), want %d",
			m, limit*par, !c.wave.Late(), limit*par)
	}
	// (The connections are not bounded here: before libcurl 8.0 every
	// stream started past what libcurl finds room for opens one of its
	// own, and the cap learnt from streams placed before the server's
	// SETTINGS can overshoot, so this recurs during the run: docs/design.md,
	// the ramp. Seen: 4-11 connections on 7.88, 5-6 on 8.21.)
	t.Logf("%d TLS connections", conns.Load())
}

// limitedServer serves /f<i> over HTTP/2 allowing limit streams per
// connection, each answer after 20 ms, counting the requests in flight,
// the connections carrying them at once, and the TLS connections made.
func limitedServer(t *testing.T, dir string, limit int) (*httptest.Server, string, *streamCounter, *connTracker, *atomic.Int64) {
	c := &streamCounter{pass: 1 << 30, delay: 20 * time.Millisecond}
	ct := new(connTracker)
	srv, ca, conns := tlsServer(t, dir, ct.wrap(c.handler(3000)), true, func(s *httptest.Server) {
		// Over TLS 1.3, Go's default: the server's SETTINGS come a round
		// trip after the client's handshake ends (settings.go).
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: limit}
	})
	return srv, ca, c, ct, conns
}

// At its defaults (-j 64, no --streams) against a server allowing 5
// streams per connection: the host's first wave is two transfers, its cap
// grows from what its first connection was seen to carry, and once a
// stream finds the limit the connections the waiting entries need open
// side by side. 100 files take about 100/5 connections, with more than
// four connections' worth of requests in flight at once. (Given the
// first connection all at once before the server's SETTINGS, as when all
// 64 waited for it, the host looked as if it took 64 streams per
// connection, and libcurl 7.88 then opened a connection for each stream
// past the real limit. On loopback that stays near 20 here; on the link
// bench, 500 files to nginx allowing 20 streams took 82 connections.)
func TestStreamLimitFoundBeforeConnectionsOpen(t *testing.T) {
	const limit, files = 5, 100
	dir := t.TempDir()
	srv, ca, c, ct, conns := limitedServer(t, dir, limit)
	entries := smallFiles(srv, dir, files)
	_, st := run(t, context.Background(), Config{Parallel: 64, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if n, most := int(conns.Load()), ct.most(); n > files/limit+2 || most > n {
		t.Errorf("%d TLS connections (%d carrying requests at once) for %d files at %d streams each, want at most %d",
			n, most, files, limit, files/limit+2)
	}
	if m := c.max.Load(); m <= 4*limit {
		t.Errorf("server saw at most %d requests at once, want more than %d (connections opened side by side)", m, 4*limit)
	}
}

// The same over a link of 50 ms round trips (testserver.DelayProxy), 300
// files to a server allowing 10 streams, answering at once: the first
// transfers no longer take the host's first connection before its
// server's SETTINGS, so at most 300/10 connections open, not one for each
// stream past the limit (56-63 with libcurl 7.88 before), and they open
// side by side (libcurl 8.21, opening one at a time, had 30 requests at
// most in flight before).
func TestStreamLimitFoundOverALink(t *testing.T) {
	const limit, files = 10, 300
	dir := t.TempDir()
	c := &streamCounter{pass: 1 << 30, delay: 20 * time.Millisecond}
	ct := new(connTracker)
	srv, ca, conns := tlsServer(t, dir, ct.wrap(c.handler(3000)), true, func(s *httptest.Server) {
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: limit}
		// TLS 1.2, where the SETTINGS come with the end of the handshake
		// (settings_test.go has TLS 1.3 over a link).
		s.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	})
	overALink(t, srv, ca, dir, files, limit, c, conns) // settings_test.go
}

// -j 1 against a server allowing 5 streams: one connection carries the
// host's streams, and the stream that found the limit by needing a
// connection of its own is the one more there may be; its 5 streams are
// all used. (Before the first wave and probes that open, 2-10 TLS
// connections with libcurl 7.88 and 3-7 with 8.21.)
func TestOneSlotIsOneConnection(t *testing.T) {
	const limit = 5
	dir := t.TempDir()
	srv, ca, c, ct, conns := limitedServer(t, dir, limit)
	entries := smallFiles(srv, dir, 100)
	_, st := run(t, context.Background(), Config{Parallel: 1, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if n, most := conns.Load(), ct.most(); n > 2 || most > 2 {
		t.Errorf("%d TLS connections, %d carrying requests at once with -j 1, want at most 2", n, most)
	}
	if m := c.max.Load(); m < limit || m > limit+1 {
		t.Errorf("server saw at most %d requests at once, want %d or %d", m, limit, limit+1)
	}
}

// An https host answering over HTTP/1.1 ends its first wave (two
// transfers, mux.go) before a transfer ends: ten bodies whose headers
// come at once and whose bodies wait until all ten requests are in
// flight all arrive, the ten in flight together.
func TestFirstWaveEndsWhileBodiesWait(t *testing.T) {
	const files = 10
	var wave testserver.Wave
	wave.Set(files)
	var inflight, most atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		w.Header().Set("Content-Length", "3000")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		wave.Hold()
		_, _ = w.Write(body(r.URL.Path, 3000))
	})
	runOverH1TLS(t, h, files)
	if m := most.Load(); m != files || wave.Late() {
		t.Errorf("server saw at most %d requests at once (the wave of %d all in flight: %v), want %d", m, files, !wave.Late(), files)
	}
}

// An https host answering over HTTP/1.1 only once ten requests are in
// flight: its first wave ends when its first connection, once up, takes
// no second transfer, not at an answer, which would never come while two
// at most were out.
func TestFirstWaveEndsBeforeAnyAnswer(t *testing.T) {
	const files = 10
	var wave testserver.Wave
	wave.Set(files)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wave.Hold()
		_, _ = w.Write(body(r.URL.Path, 3000))
	})
	runOverH1TLS(t, h, files)
	if wave.Late() {
		t.Errorf("the %d requests were never in flight together", files)
	}
}

// runOverH1TLS downloads files small files with the defaults from an
// HTTPS server answering over HTTP/1.1 with h, and checks each.
func runOverH1TLS(t *testing.T, h http.Handler, files int) {
	t.Helper()
	dir := t.TempDir()
	srv, ca, _ := tlsServer(t, dir, h, false)
	entries := smallFiles(srv, dir, files)
	_, st := run(t, context.Background(), Config{Parallel: 64, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
}
