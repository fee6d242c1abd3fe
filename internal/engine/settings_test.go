package engine

// A server's HTTP/2 SETTINGS over TLS 1.3, where they come a round trip
// after the client's handshake ends (settings.go): the streams sent
// before them must stay within a limit libcurl does not know yet.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/multiget/multiget/internal/testserver"
)

// 300 files over a 50 ms link from a TLS 1.3 server allowing 10 streams
// per connection: the server refuses no stream, whether sent before its
// SETTINGS on the host's first connection or on the connections opened
// after (x/net's server counts each refusal of a stream past its limit,
// REFUSED_STREAM or, once its SETTINGS are acknowledged, PROTOCOL_ERROR),
// at most 300/10 connections open, and more than three connections'
// worth of requests are in flight at once. The build before this check
// had 100-200 refusals and, with libcurl 7.88, 60-90 connections: libcurl
// retries a refused stream on a new connection.
func TestNoStreamRefusedBeforeSettings(t *testing.T) {
	const limit, files = 10, 300
	dir := t.TempDir()
	srv, ca, c, conns, refused := refusingServer(t, dir, limit)
	overALink(t, srv, ca, dir, files, limit, c, conns)
	if r := refused(); len(r) != 0 {
		t.Errorf("the server refused streams past its limit of %d: %v", limit, r)
	}
}

// The same server beside one allowing Go's 250 streams, 300 files from
// each, interleaved: libcurl's own cap per connection is then above the
// first server's limit, and the first server still refuses no stream,
// takes at most 300/10+2 connections and more than three connections'
// worth of requests at once. Without settingsRoom it refused 87-206
// streams per run over 79-141 connections (and nginx allowing 20 beside
// nginx allowing 128, over the bench's link, over a hundred).
func TestNoStreamRefusedBesideAHostOfMoreStreams(t *testing.T) {
	const limit, files = 10, 300
	dir := t.TempDir()
	few, ca, c, conns, refused := refusingServer(t, dir, limit)
	many, _, _ := tlsServer(t, dir, (&streamCounter{pass: 1 << 30, delay: 20 * time.Millisecond}).handler(3000), true)
	links := []struct{ name, addr string }{
		{"few", testserver.DelayProxy(t, few.Listener.Addr().String(), 25*time.Millisecond)},
		{"many", testserver.DelayProxy(t, many.Listener.Addr().String(), 25*time.Millisecond)},
	}
	var entries []Entry
	for i := range files {
		for _, l := range links {
			entries = append(entries, Entry{Source: fmt.Sprint(i), URL: fmt.Sprintf("https://%s/f%d", l.addr, i),
				Path: filepath.Join(dir, l.name, fmt.Sprint(i))})
		}
	}
	_, st := run(t, context.Background(), Config{Parallel: 64, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if r := refused(); len(r) != 0 {
		t.Errorf("the server allowing %d streams refused streams past its limit: %v", limit, r)
	}
	if n := int(conns.Load()); n > files/limit+2 {
		t.Errorf("%d TLS connections to the server allowing %d streams for its %d files, want at most %d", n, limit, files, files/limit+2)
	}
	if m := c.max.Load(); m <= 3*int64(limit) {
		t.Errorf("the server allowing %d streams saw at most %d requests at once, want more than %d", limit, m, 3*limit)
	}
}

// refusingServer is a TLS 1.3 server allowing limit streams per
// connection that counts each stream it refuses past that limit
// (x/net's server: REFUSED_STREAM or, once its SETTINGS are acknowledged,
// PROTOCOL_ERROR); refused gives the counts by CountError's kind, which
// says whether the stream came before the client acknowledged the
// SETTINGS (_race) or after. Each answer waits 60 ms, so that the streams
// of connections opened side by side overlap at the server whatever the
// machine's load (at 20 ms, the most in flight at once ranged 41-79 in 25
// runs on an idle machine and was once 30 on a busy one, at the bound of
// the tests' lower bound; at 60 ms, 53-103).
func refusingServer(t *testing.T, dir string, limit int) (srv *httptest.Server, ca string, c *streamCounter, conns *atomic.Int64, refused func() map[string]int) {
	c = &streamCounter{pass: 1 << 30, delay: 60 * time.Millisecond}
	var mu sync.Mutex
	kinds := make(map[string]int)
	srv, ca, conns = tlsServer(t, dir, c.handler(3000), true, func(s *httptest.Server) {
		// TLS 1.3 is the default of Go's server and of libcurl's OpenSSL.
		s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: limit}
		// x/net's own server (deprecated for net/http's), for CountError,
		// which net/http's HTTP2Config has from Go 1.27 only.
		//lint:ignore SA1019 net/http has no CountError before Go 1.27
		err := http2.ConfigureServer(s.Config, &http2.Server{
			//lint:ignore SA1019 as above
			CountError: func(kind string) {
				if strings.Contains(kind, "over_max_streams") { // stream_REFUSED_STREAM_over_max_streams_race, ...
					mu.Lock()
					kinds[kind]++
					mu.Unlock()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		s.TLS = s.Config.TLSConfig
	})
	return srv, ca, c, conns, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(kinds)
	}
}

// overALink downloads files small files from srv, allowing limit streams
// per connection, through a link of 50 ms round trips
// (testserver.DelayProxy) at the defaults, checks each, and that at most
// files/limit+2 connections opened, side by side: more than three
// connections' worth of requests in flight at once (libcurl 8 opening one
// connection at a time had three).
func overALink(t *testing.T, srv *httptest.Server, ca, dir string, files, limit int, c *streamCounter, conns *atomic.Int64) {
	t.Helper()
	proxy := testserver.DelayProxy(t, srv.Listener.Addr().String(), 25*time.Millisecond)
	entries := smallFiles(srv, dir, files)
	for i := range entries {
		entries[i].URL = strings.Replace(entries[i].URL, srv.Listener.Addr().String(), proxy, 1)
	}
	_, st := run(t, context.Background(), Config{Parallel: 64, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if n := int(conns.Load()); n > files/limit+2 {
		t.Errorf("%d TLS connections for %d files at %d streams each, want at most %d", n, files, limit, files/limit+2)
	}
	if m := c.max.Load(); m <= 3*int64(limit) {
		t.Errorf("server saw at most %d requests at once, want more than %d (connections opened side by side)", m, 3*limit)
	}
}

// A host waiting for its SETTINGS over TLS 1.3 waits for them, not for an
// answer: a server that answers nothing until 60 requests are in flight
// gets all 60, its SETTINGS due twice the handshake's time after it, not
// two requests until the wave gives up.
func TestSettingsWaitEndsWithoutAnAnswer(t *testing.T) {
	runStreams(t, Config{Parallel: 64}, 60, 0, 60, "the defaults, over TLS 1.3, no answer before 60 in flight")
}
