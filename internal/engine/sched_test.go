package engine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/multiget/multiget/internal/testserver"
)

const (
	hostA = "http://a:80"
	hostB = "http://b:80"
)

func TestSchedHostCounts(t *testing.T) {
	s := newSched(2)
	s.take(hostA)
	if !s.hostFree(hostA) {
		t.Fatal("one of two taken: host should have room")
	}
	s.take(hostA)
	if s.hostFree(hostA) || !s.hostFree(hostB) {
		t.Fatal("a full host, or another host, is misjudged")
	}
	s.release(hostA)
	s.release(hostA)
	if len(s.hosts) != 0 {
		t.Errorf("hosts not forgotten at zero: %v", s.hosts)
	}
	open := newSched(0)
	for i := 0; i < 100; i++ {
		open.take(hostA)
	}
	if !open.hostFree(hostA) || open.hosts[hostA] != 100 {
		t.Errorf("without --per-host a host is never full, and still counted: %v", open.hosts)
	}
}

func TestSchedRetriesAreSortedByDue(t *testing.T) {
	s := newSched(0)
	t0 := time.Unix(1000, 0)
	for _, d := range []int{3, 1, 2, 1} {
		s.queueRetry(&job{host: hostA, entry: Entry{Source: fmt.Sprint(d)}}, t0.Add(time.Duration(d)*time.Second))
	}
	var got []string
	for _, j := range s.retries {
		got = append(got, j.entry.Source)
	}
	if strings.Join(got, ",") != "1,1,2,3" {
		t.Errorf("retries in order %v", got)
	}
}

func TestSchedNext(t *testing.T) {
	t0 := time.Unix(1000, 0)
	src := func(j *job) string {
		if j == nil {
			return "none"
		}
		return j.entry.Source
	}
	s := newSched(1)
	s.queueRetry(&job{host: hostA, entry: Entry{Source: "retryA"}}, t0)
	s.queueRetry(&job{host: hostB, entry: Entry{Source: "retryB-later"}}, t0.Add(time.Second))
	s.wait(&job{host: hostA, entry: Entry{Source: "waitA"}})
	s.wait(&job{host: hostB, entry: Entry{Source: "waitB"}})
	s.take(hostA)
	// hostA is full: its due retry and its waiting entry stay; the retry
	// on hostB is not due: the entry waiting for hostB goes first.
	if got := src(s.next(t0)); got != "waitB" {
		t.Fatalf("next = %s, want waitB", got)
	}
	s.release(hostA)
	if got := src(s.next(t0)); got != "retryA" {
		t.Fatalf("next = %s, want retryA (a due retry before a waiting entry)", got)
	}
	if got := src(s.next(t0)); got != "waitA" {
		t.Fatalf("next = %s, want waitA", got)
	}
	if got := src(s.next(t0)); got != "none" {
		t.Fatalf("next = %s, want none: the last retry is not due", got)
	}
	if got := src(s.next(t0.Add(time.Second))); got != "retryB-later" {
		t.Fatalf("next = %s, want retryB-later once due", got)
	}
	if !s.idle() {
		t.Error("queues not empty")
	}
}

func TestSchedWake(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSched(1)
	if _, ok := s.wake(t0, true); ok {
		t.Fatal("nothing waits, yet a wake time")
	}
	s.queueRetry(&job{host: hostA}, t0.Add(3*time.Second))
	split := &job{host: hostB, segs: []*segment{
		{start: 0, end: 10, done: 10},                                       // finished
		{start: 10, end: 20, due: t0.Add(time.Second)},                      // waiting for its backoff
		{start: 20, end: 30, due: t0.Add(time.Millisecond), t: &transfer{}}, // running
	}}
	s.splits[split] = struct{}{}
	if w, ok := s.wake(t0, true); !ok || !w.Equal(t0.Add(time.Second)) {
		t.Errorf("wake = %v %v, want the range's due in 1s", w.Sub(t0), ok)
	}
	delete(s.splits, split)
	if w, ok := s.wake(t0, true); !ok || !w.Equal(t0.Add(3*time.Second)) {
		t.Errorf("wake = %v %v, want the retry's due in 3s", w.Sub(t0), ok)
	}
	if _, ok := s.wake(t0, false); ok {
		t.Error("a retry wakes the loop while no -j slot is free")
	}
	// Due work on a full host waits for a transfer to end, not the clock.
	s.take(hostA)
	if _, ok := s.wake(t0.Add(5*time.Second), true); ok {
		t.Error("a due retry on a full host asks for a wake")
	}
	s.release(hostA)
	if w, ok := s.wake(t0.Add(5*time.Second), true); !ok || !w.Equal(t0.Add(5*time.Second)) {
		t.Errorf("a due retry on a free host: wake %v %v, want now", w, ok)
	}
	// A range counts for the host it is fetched from.
	split.segURL, split.segHost = "http://a/x", hostA
	s.splits[split] = struct{}{}
	s.take(hostA)
	if w, ok := s.wake(t0.Add(2*time.Second), false); ok {
		t.Errorf("a due range on a full host: wake %v", w)
	}
}

func TestSchedStartRanges(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSched(2)
	j := &job{host: hostA, segs: []*segment{
		{start: 0, end: 10, t: &transfer{}}, // the probe, still running
		{start: 10, end: 20},
		{start: 20, end: 30, due: t0.Add(time.Second)},
		{start: 30, end: 40},
		{start: 40, end: 50},
	}}
	s.splits[j] = struct{}{}
	s.take(hostA) // the probe
	var started []int64
	start := func(j *job, g *segment) {
		if !s.hostFree(j.rangeHost()) {
			return
		}
		s.take(j.rangeHost())
		g.t = &transfer{}
		started = append(started, g.start)
	}
	s.startRanges(t0, start)
	if fmt.Sprint(started) != "[10]" {
		t.Fatalf("started %v, want [10]: the host has room for one range beside the probe", started)
	}
	s.release(hostA) // the probe ends
	j.segs[0].t, j.segs[0].done = nil, 10
	s.startRanges(t0, start)
	if fmt.Sprint(started) != "[10 30]" {
		t.Fatalf("started %v, want [10 30]: the probe's connection goes to the next range due", started)
	}
}

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
		_, _ = w.Write(body(strings.TrimPrefix(r.URL.Path, "/small/"), 3000))
	}))
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
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
		name := fmt.Sprintf("s%d", i)
		entries = append(entries, Entry{Source: name, URL: s.URL + "/small/" + name, Path: filepath.Join(dir, name)})
	}
	cfg := retryCfg()
	cfg.Parallel, cfg.PerHost, cfg.Split, cfg.MinSplitSize = 8, n, 8, 1<<20
	s.wave.Set(n)
	rec, st := run(t, context.Background(), cfg, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v\n%+v", st, rec.results)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "big")); !bytes.Equal(b, big) {
		t.Error("big differs")
	}
	for _, en := range entries[1:] {
		if b, _ := os.ReadFile(en.Path); !bytes.Equal(b, body(en.Source, 3000)) {
			t.Errorf("%s differs", en.Source)
		}
	}
	noPartFiles(t, dir)
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
