package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// h2Server starts an HTTPS server that speaks HTTP/2, counting its
// connections, and writes its certificate to a CA file in dir.
func h2Server(t *testing.T, dir string, h http.Handler) (srv *httptest.Server, ca string, conns *atomic.Int64) {
	return tlsServer(t, dir, h, true)
}

// tlsServer is h2Server with HTTP/2 on or off; tweaks adjust the server
// before it starts.
func tlsServer(t *testing.T, dir string, h http.Handler, h2 bool, tweaks ...func(*httptest.Server)) (srv *httptest.Server, ca string, conns *atomic.Int64) {
	conns = new(atomic.Int64)
	srv = httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	for _, f := range tweaks {
		f(srv)
	}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, ca, conns
}

// h2Only answers every path with size bytes of body(path), over HTTP/2
// only.
func h2Only(size int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2", http.StatusHTTPVersionNotSupported)
			return
		}
		_, _ = w.Write(body(r.URL.Path, size))
	})
}

// Over HTTPS with HTTP/2, transfers started together wait for the first
// connection and share it as streams instead of each opening (and
// handshaking) a connection of its own.
func TestHTTP2SharesOneConnection(t *testing.T) {
	dir := t.TempDir()
	srv, ca, conns := h2Server(t, dir, h2Only(5000))
	entries := smallFiles(srv, dir, 24)
	_, st := run(t, context.Background(), Config{Parallel: 8, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for %d transfers at -j 8 over HTTP/2, want 1", n, len(entries))
	}
}

// smallFiles returns n entries for srv's /f<i>, saved under dir/out.
func smallFiles(srv *httptest.Server, dir string, n int) []Entry {
	var entries []Entry
	for i := 0; i < n; i++ {
		entries = append(entries, Entry{Source: fmt.Sprint(i), URL: fmt.Sprintf("%s/f%d", srv.URL, i),
			Path: filepath.Join(dir, "out", fmt.Sprint(i))})
	}
	return entries
}

// checkSmallFiles fails unless every entry is saved with its body.
func checkSmallFiles(t *testing.T, entries []Entry, size int) {
	t.Helper()
	for _, en := range entries {
		got, err := os.ReadFile(en.Path)
		if err != nil {
			t.Fatal(err)
		}
		if want := body("/f"+en.Source, size); !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes, not the %d sent", en.Path, len(got), len(want))
		}
	}
}

// slowReader hands out its content 16 KiB per millisecond.
type slowReader struct{ *bytes.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.Reader.Read(p[:min(len(p), 16<<10)])
}

// serveBig serves content as "big", slowly, with an ETag and ranges.
func serveBig(w http.ResponseWriter, r *http.Request, content []byte) {
	w.Header().Set("ETag", `"v1"`)
	http.ServeContent(w, r, "big", time.Time{}, io.ReadSeeker(slowReader{bytes.NewReader(content)}))
}

// splitBig downloads base/big over HTTPS as 4 ranges and checks the file.
func splitBig(t *testing.T, dir, base, ca string, content []byte) {
	t.Helper()
	cfg := splitCfg(4)
	cfg.CACert, cfg.Protocols = ca, []string{"https"}
	rec, _ := run(t, context.Background(), cfg, []Entry{{Source: "a", URL: base + "/big", Path: filepath.Join(dir, "big")}})
	if r := rec.results[0]; r.Status != StatusOK || r.Attempts != 5 {
		t.Fatalf("%+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "big")); !bytes.Equal(b, content) {
		t.Errorf("file differs")
	}
}

// The ranges of a split download from an HTTP/2 server get connections of
// their own, as HTTP/1.1, rather than becoming streams on the connection
// the first request already uses (where a server that limits each connection
// would serve the whole file at one connection's rate).
func TestSplitOverHTTP2UsesConnectionsOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	const size = 3 << 20
	content := body("big", size)
	var mu sync.Mutex
	protos := map[string]int{} // "HTTP/1.1 ranged", "HTTP/2.0 whole"...
	srv, ca, conns := h2Server(t, dir, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "whole"
		if r.Header.Get("Range") != "" {
			kind = "ranged"
		}
		mu.Lock()
		protos[r.Proto+" "+kind]++
		mu.Unlock()
		serveBig(w, r, content)
	}))
	splitBig(t, dir, srv.URL, ca, content)
	mu.Lock()
	defer mu.Unlock()
	if protos["HTTP/2.0 whole"] != 1 || protos["HTTP/1.1 ranged"] != 4 {
		t.Errorf("requests by protocol: %v; want the first over HTTP/2 and 4 ranges over HTTP/1.1", protos)
	}
	if n := conns.Load(); n != 5 {
		t.Errorf("%d connections for the first request and 4 ranges, want 5", n)
	}
}

// Handles share TLS sessions: the ranges of a split download, each a new
// handle opening a connection of its own to a host the probe has already
// talked to, resume a session from the cache they share instead of a full
// handshake. How many of them can depends on libcurl. Before 8.12 it keeps
// the session a TLS 1.3 connection got and offers it again on every new
// connection to the host: all 4 ranges resume the probe's. From 8.12 on
// (lib/vtls/vtls_scache.c, Curl_ssl_scache_take and Curl_ssl_scache_return)
// a TLS 1.3 ticket is taken out of the cache for one connection and dropped
// after it, as RFC 8446 C.4 asks ("Clients SHOULD NOT reuse a ticket for
// multiple connections"): a connection resumes only if the cache still
// holds a ticket the server sent. Go's server sends one per connection, so
// the ranges, opened together, have the probe's one ticket between them
// (one opened after another has resumed may take the ticket that one got):
// at least one resumes, and no ticket serves two connections.
func TestTLSSessionsAreShared(t *testing.T) {
	dir := t.TempDir()
	const size = 3 << 20
	content := body("big", size)
	var mu sync.Mutex
	resumed := map[string]bool{} // by connection (client address)
	uses := map[[32]byte]int{}   // connections that presented a ticket, by ticket
	tickets := func(srv *httptest.Server) {
		srv.TLS = &tls.Config{UnwrapSession: func(id []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			mu.Lock()
			uses[sha256.Sum256(id)]++
			mu.Unlock()
			return srv.TLS.DecryptTicket(id, cs) // the started server's config
		}}
	}
	srv, ca, conns := tlsServer(t, dir, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if _, seen := resumed[r.RemoteAddr]; !seen {
			resumed[r.RemoteAddr] = r.TLS.DidResume
		}
		mu.Unlock()
		serveBig(w, r, content)
	}), false, tickets)
	splitBig(t, dir, srv.URL, ca, content)
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, r := range resumed {
		if r {
			n++
		}
	}
	most := 0
	for _, u := range uses {
		most = max(most, u)
	}
	if conns.Load() != 5 {
		t.Errorf("%d connections, want 5: the probe and 4 ranges", conns.Load())
	}
	if singleUseTickets() {
		if n < 1 || most != 1 {
			t.Errorf("%d connections resumed a TLS session, the most used ticket served %d; want at least 1 of the ranges, each ticket used once (libcurl %s)", n, most, Lib().Version)
		}
	} else if n != 4 {
		t.Errorf("%d connections resumed a TLS session; want the 4 ranges (libcurl %s)", n, Lib().Version)
	}
}

// singleUseTickets says whether the loaded libcurl uses each TLS 1.3
// session ticket for one connection only: from 8.12.0 on.
func singleUseTickets() bool { return Lib().Num >= 0x080c00 }
