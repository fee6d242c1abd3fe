package engine

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// Over HTTPS with HTTP/2, transfers started together wait for the first
// connection and share it as streams instead of each opening (and
// handshaking) a connection of its own.
func TestHTTP2SharesOneConnection(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2", http.StatusHTTPVersionNotSupported)
			return
		}
		_, _ = w.Write(body(r.URL.Path, 5000))
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	for i := 0; i < 24; i++ {
		entries = append(entries, Entry{Source: fmt.Sprint(i), URL: fmt.Sprintf("%s/f%d", srv.URL, i),
			Path: filepath.Join(dir, "out", fmt.Sprint(i))})
	}
	_, st := run(t, context.Background(), Config{Parallel: 8, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for %d transfers at -j 8 over HTTP/2, want 1", n, len(entries))
	}
}
