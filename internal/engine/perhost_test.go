package engine

// --per-host with --split, end to end on a loopback server.

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/multiget/multiget/internal/testserver"
)

// hostServer serves /big (ranges, a strong ETag; the whole file slowly,
// so that a split is decided while it comes) and /small/NAME, all on one
// host, counting the requests in flight; wave holds the first ones until
// that many are in flight together.
//
// A request counts until its handler returns or its client has closed
// the connection: a client that aborts a response (the probe of a split
// download stops where the ranges take over) has closed its socket before
// it sends the next request, and on loopback the server's socket is reset
// by then, so looking at the others' sockets when a request arrives tells
// the truth without a race against the handler noticing.
type hostServer struct {
	*httptest.Server
	big []byte

	mu          sync.Mutex
	inflight    map[*http.Request]net.Conn
	maxInflight int
	ranges      int
	wave        testserver.Wave
}

type connKey struct{}

func newHostServer(t *testing.T, big []byte) *hostServer {
	s := &hostServer{big: big, inflight: make(map[*http.Request]net.Conn)}
	mux := http.NewServeMux()
	count := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			for other, c := range s.inflight {
				if peerClosed(c) {
					delete(s.inflight, other)
				}
			}
			s.inflight[r] = r.Context().Value(connKey{}).(net.Conn)
			s.maxInflight = max(s.maxInflight, len(s.inflight))
			if r.Header.Get("Range") != "" {
				s.ranges++
			}
			s.mu.Unlock()
			defer func() {
				s.mu.Lock()
				delete(s.inflight, r)
				s.mu.Unlock()
			}()
			s.wave.Hold() // counted in flight while held
			h(w, r)
		}
	}
	mux.HandleFunc("/big", count(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big-1"`)
		if r.Header.Get("Range") != "" {
			http.ServeContent(w, r, "big", time.Unix(1e9, 0), bytes.NewReader(s.big))
			return
		}
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("Content-Length", strconv.Itoa(len(s.big)))
		for b := s.big; len(b) > 0; {
			k := min(len(b), 64<<10)
			if _, err := w.Write(b[:k]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			b = b[k:]
			select {
			case <-time.After(5 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	mux.HandleFunc("/small/", count(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(s.content(strings.TrimPrefix(r.URL.Path, "/small/")))
	}))
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// content is what the server has as NAME: the big file, or a small one.
func (s *hostServer) content(name string) []byte {
	if name == "big" {
		return s.big
	}
	return testserver.Content(name, 3000)
}

// peerClosed says whether the client closed c: a peek finds its end (or
// the reset), not "nothing yet".
func peerClosed(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		closed = (err == nil && n == 0) || (err != nil && err != unix.EAGAIN)
	})
	return closed
}

// perHostSplit downloads a split file and small files from one host with
// --per-host n and checks that the host never had more than n requests of
// the run at once, and had n at once at some point.
func perHostSplit(t *testing.T, n int) {
	big := testserver.Content("big", 4<<20) // 8 ranges of 512 KiB: none worth rebalancing
	s := newHostServer(t, big)
	dir := t.TempDir()
	entries := []Entry{{Source: "big", URL: s.URL + "/big", Path: filepath.Join(dir, "big")}}
	for i := 0; i < 20; i++ {
		name := "s" + strconv.Itoa(i)
		entries = append(entries, Entry{Source: name, URL: s.URL + "/small/" + name, Path: filepath.Join(dir, name)})
	}
	cfg := retryCfg()
	cfg.Parallel, cfg.PerHost, cfg.Split, cfg.MinSplitSize = 8, n, 8, 1<<20
	s.wave.Set(n)
	rec, st := run(t, context.Background(), cfg, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v\n%+v", st, rec.results)
	}
	for _, en := range entries {
		wantWhole(t, en.Path, en.Source, len(s.content(en.Source)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ranges < 2 {
		t.Errorf("%d range requests: the big file was not split", s.ranges)
	}
	if s.maxInflight > n || s.maxInflight < n || s.wave.Late() {
		t.Errorf("server saw at most %d requests at once (the first %d never all in flight: %v), want %d",
			s.maxInflight, n, s.wave.Late(), n)
	}
}

// The ranges of a split download count for their host: --per-host 2 with
// --split 8 means two connections to the host, ranges and small files
// together.
func TestPerHostCountsRanges(t *testing.T) { perHostSplit(t, 2) }

// With a single connection to the host, the split does not deadlock: the
// probe's connection goes to the ranges one after the other.
func TestPerHostOneSplitGoesOn(t *testing.T) { perHostSplit(t, 1) }
