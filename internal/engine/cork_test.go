//go:build mgtest

package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// corkCheck notes at every result, which the engine reports on its loop's
// goroutine between performs, how many multiplexed connections are corked.
type corkCheck struct {
	recorder
	corked atomic.Int64
}

func (c *corkCheck) Result(r Result) {
	c.corked.Add(int64(corked()))
	c.recorder.Result(r)
}

// Over HTTP/2, the requests of the transfers a perform starts go out
// together: their shared connection is corked during that perform and
// uncorked before it returns, so it is never corked between performs, and
// it is forgotten when libcurl closes it.
func TestRequestsAreCorkedOverHTTP2(t *testing.T) {
	dir := t.TempDir()
	srv, ca, conns := h2Server(t, dir, h2Only(3000))
	entries := smallFiles(srv, dir, 120)
	before := corks()
	obs := &corkCheck{}
	st := runObserved(t, context.Background(), Config{Parallel: 8, CACert: ca, Protocols: []string{"https"}}, entries, obs)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkSmallFiles(t, entries, 3000)
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if corks() == before {
		t.Error("no perform had the HTTP/2 connection corked")
	}
	if n := obs.corked.Load(); n != 0 {
		t.Errorf("a multiplexed connection was corked between performs (%d times)", n)
	}
	if n := muxSockets(); n != 0 {
		t.Errorf("%d multiplexed connections still known after the run closed them", n)
	}
}

// An HTTP/1.1 connection carries one request at a time: never corked.
func TestHTTP1IsNeverCorked(t *testing.T) {
	dir := t.TempDir()
	for _, h2 := range []bool{false, true} {
		var srv *httptest.Server
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body(r.URL.Path, 3000)) })
		cfg := Config{Parallel: 8}
		if h2 {
			// HTTPS that offers only HTTP/1.1.
			var ca string
			srv, ca, _ = tlsServer(t, dir, h, false)
			cfg.CACert = ca
		} else {
			srv = httptest.NewServer(h)
			t.Cleanup(srv.Close)
		}
		entries := smallFiles(srv, filepath.Join(dir, fmt.Sprint(h2)), 60)
		before := corks()
		st := runObserved(t, context.Background(), cfg, entries, &corkCheck{})
		if st.OK != len(entries) {
			t.Fatalf("%+v", st)
		}
		checkSmallFiles(t, entries, 3000)
		if corks() != before {
			t.Errorf("%s: a connection was corked", srv.URL)
		}
	}
}
