package cmd_test

// Servers that break the resume rules in ways real ones do: a 206 of
// another version (If-Range ignored), a response cut inside its header
// block, a 206 without Accept-Ranges (nginx), and Retry-After sent to
// many entries at once. Each test runs a dedicated handler that logs
// every request (arrival time, Range, If-Range) per NAME, the last path
// segment.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

type faultReq struct {
	at           time.Time
	rng, ifRange string
	status       int // what the handler answered (0: no status line)
	hit          int // 1-based, per NAME
}

// faultServer logs each request per NAME and lets serve answer it; serve
// returns the status it sent.
type faultServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs map[string][]*faultReq
}

func newFaultServer(t *testing.T, serve func(w http.ResponseWriter, r *http.Request, name string, hit int) int) *faultServer {
	t.Helper()
	s := &faultServer{reqs: map[string][]*faultReq{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		q := &faultReq{at: time.Now(), rng: r.Header.Get("Range"), ifRange: r.Header.Get("If-Range")}
		s.mu.Lock()
		s.reqs[name] = append(s.reqs[name], q)
		q.hit = len(s.reqs[name])
		s.mu.Unlock()
		st := serve(w, r, name, q.hit)
		s.mu.Lock()
		q.status = st
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *faultServer) log(name string) []faultReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []faultReq
	for _, q := range s.reqs[name] {
		out = append(out, *q)
	}
	return out
}

func (s *faultServer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for name, qs := range s.reqs {
		for _, q := range qs {
			fmt.Fprintf(&b, "%s #%d: Range %q If-Range %q -> %d\n", name, q.hit, q.rng, q.ifRange, q.status)
		}
	}
	return b.String()
}

// parseRange reads "bytes=A-" or "bytes=A-B" against size; ok is false
// for anything else (the whole body is then sent).
func parseRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if !found || err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < start {
			return 0, 0, false
		}
		end = min(last+1, size)
	}
	return start, end, true
}

// bodyOpts says how serveBody answers.
type bodyOpts struct {
	etag         string // "": none
	lastModified string // "": none
	ranges       bool   // honour Range (never looking at If-Range)
	acceptRanges func(status int) bool
	cut          int64 // >0: send at most this many body bytes, then close
	pace         bool  // 64 KiB at a time with a short pause, so --split has time to split
}

// serveBody sends body (or the asked-for range of it) as opts say and
// returns the status.
func serveBody(w http.ResponseWriter, r *http.Request, body []byte, o bodyOpts) int {
	size := int64(len(body))
	start, end, partial := parseRange(r.Header.Get("Range"), size)
	if !o.ranges || !partial {
		start, end, partial = 0, size, false
	}
	status := http.StatusOK
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if o.etag != "" {
		h.Set("ETag", o.etag)
	}
	if o.lastModified != "" {
		h.Set("Last-Modified", o.lastModified)
	}
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
	}
	if o.acceptRanges == nil || o.acceptRanges(status) {
		h.Set("Accept-Ranges", "bytes")
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return status
	}
	stop := end
	if o.cut > 0 && start+o.cut < end {
		stop = start + o.cut
	}
	f := w.(http.Flusher)
	for p := start; p < stop; {
		n := min(stop-p, 64<<10)
		if _, err := w.Write(body[p : p+n]); err != nil {
			return status
		}
		p += n
		if o.pace {
			f.Flush()
			time.Sleep(2 * time.Millisecond)
		}
	}
	if stop < end {
		// Everything sent so far reaches the client, then a FIN with the
		// body short of its Content-Length.
		f.Flush()
		panic(http.ErrAbortHandler)
	}
	return status
}

// Issue 15 item 2: a server that ignores If-Range and answers a resume
// with a 206 of a newer version (another ETag). Such a range is the
// changed file's: the download restarts from byte 0 (once, without
// spending a retry) instead of splicing two versions, within a run,
// across runs (-c) and for the ranges of a split download.
func TestResume206OtherVersion(t *testing.T) {
	t.Parallel()
	// The file changes the moment the first Range request arrives, and
	// every range is served from the current version, If-Range ignored.
	var mu sync.Mutex
	version := map[string]int{}
	sizes := map[string]int{"within": 800000, "lastmod": 800000, "continue": 300000, "split": 4 << 20}
	etag := func(name string, v int) string { return fmt.Sprintf(`"%s-v%d"`, name, v) }
	s := newFaultServer(t, func(w http.ResponseWriter, r *http.Request, name string, hit int) int {
		mu.Lock()
		if version[name] == 0 {
			version[name] = 1
		}
		if r.Header.Get("Range") != "" {
			version[name] = 2
		}
		v := version[name]
		mu.Unlock()
		o := bodyOpts{etag: etag(name, v), ranges: true}
		switch {
		case name == "within" && hit == 1:
			o.cut = 300000
		case name == "lastmod":
			// No ETag: Last-Modified is the validator.
			o.etag, o.lastModified = "", testserver.LastModified(v).Format(http.TimeFormat)
			if hit == 1 {
				o.cut = 300000
			}
		case name == "split":
			o.pace = true
		}
		return serveBody(w, r, testserver.ContentVersion(name, sizes[name], v), o)
	})
	wantV2 := func(t *testing.T, dir, name string) {
		t.Helper()
		wantFile(t, filepath.Join(dir, "out", name), testserver.ContentVersion(name, sizes[name], 2))
		noLeftovers(t, dir)
	}

	t.Run("within", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// --retry 1: the cut spends it; the restart must not.
		r := mg(t, dir, "-d", "out", "--json", "--retry", "1", "--retry-delay", "10ms", s.URL+"/f/within")
		wantOK(t, r, single(t, r), 3)
		q := s.log("within")
		if len(q) != 3 || q[1].rng != "bytes=300000-" || q[1].ifRange != etag("within", 1) || q[2].rng != "" {
			t.Errorf("want a resume with If-Range %s, then a request from byte 0:\n%s", etag("within", 1), s)
		}
		wantV2(t, dir, "within")
	})
	t.Run("lastmod", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := mg(t, dir, "-d", "out", "--json", "--retry", "1", "--retry-delay", "10ms", s.URL+"/f/lastmod")
		wantOK(t, r, single(t, r), 3)
		q := s.log("lastmod")
		if v1 := testserver.LastModified(1).Format(http.TimeFormat); len(q) != 3 || q[1].ifRange != v1 || q[2].rng != "" {
			t.Errorf("want a resume with If-Range %s, then a request from byte 0:\n%s", v1, s)
		}
		wantV2(t, dir, "lastmod")
	})
	t.Run("continue", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		u := s.URL + "/f/continue"
		const kept = 100000
		seedPart(t, filepath.Join(dir, "out"), "continue", testserver.ContentVersion("continue", sizes["continue"], 1)[:kept],
			&partMeta{URL: u, Validator: etag("continue", 1)})
		r := mg(t, dir, "-d", "out", "--json", "-c", "--retry", "0", "--retry-delay", "10ms", u)
		wantOK(t, r, single(t, r), 2)
		q := s.log("continue")
		if len(q) != 2 || q[0].rng != fmt.Sprintf("bytes=%d-", kept) || q[0].ifRange != etag("continue", 1) || q[1].rng != "" {
			t.Errorf("want the -c resume, then a request from byte 0:\n%s", s)
		}
		wantV2(t, dir, "continue")
	})
	t.Run("split", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := mg(t, dir, "-d", "out", "--json", "--split", "4", "--min-split-size", "1M", "--retry", "0",
			"--retry-delay", "10ms", s.URL+"/f/split")
		res := single(t, r)
		if r.code != 0 || res.Status != "ok" {
			t.Fatalf("want ok\n%s\n%s", r, s)
		}
		fresh := 0
		for _, q := range s.log("split") {
			if q.rng == "" {
				fresh++
			}
		}
		if fresh != 2 {
			t.Errorf("%d requests without Range, want 2 (the first probe, and the one after the changed range)\n%s", fresh, s)
		}
		wantV2(t, dir, "split")
	})
}

// Issue 15 item 3: a connection closed inside the response's header block
// (libcurl reports success there) is a transient failure, never an empty
// file reported ok: retried, or, with no retry left, a failure that leaves
// no file and no .part. Also for the probe and the ranges of --split.
func TestHeadersCutOff(t *testing.T) {
	t.Parallel()
	const small, big = 200000, 4 << 20
	// name -> which hits get a cut header block.
	cutHits := map[string]func(hit int, r *http.Request) bool{
		"plain":        func(hit int, _ *http.Request) bool { return hit <= 2 },
		"plain0":       func(hit int, _ *http.Request) bool { return hit <= 2 },
		"probe":        func(hit int, _ *http.Request) bool { return hit == 1 },
		"probe0":       func(hit int, _ *http.Request) bool { return hit == 1 },
		"rangecut":     func(hit int, r *http.Request) bool { return hit == 3 && r.Header.Get("Range") != "" },
		"nocl":         func(hit int, _ *http.Request) bool { return hit == 1 },
		"nocl-retry0":  func(hit int, _ *http.Request) bool { return hit == 1 },
		"status-only0": func(hit int, _ *http.Request) bool { return hit == 1 },
	}
	size := func(name string) int {
		if strings.HasPrefix(name, "probe") || name == "rangecut" {
			return big
		}
		return small
	}
	s := newFaultServer(t, func(w http.ResponseWriter, r *http.Request, name string, hit int) int {
		body := testserver.Content(name, size(name))
		etag := testserver.ETag(name, size(name), 0)
		if cut := cutHits[name]; cut != nil && cut(hit, r) {
			block := "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n" +
				"ETag: " + etag + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
			n := 100 // a typical cut: the status line and a few headers
			switch name {
			case "status-only0":
				n = len("HTTP/1.1 200 OK\r\n")
			case "nocl", "nocl-retry0":
				// Every header complete but Content-Length, and no blank line.
				n = strings.Index(block, "Content-Length")
			}
			if strings.Contains(block[:n], "\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n") || strings.HasSuffix(block[:n], "\r\n\r\n") {
				panic("the cut must fall inside the header block, before a whole Content-Length")
			}
			conn, bw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			_, _ = bw.WriteString(block[:n])
			_ = bw.Flush()
			_ = conn.Close()
			return 0
		}
		return serveBody(w, r, body, bodyOpts{etag: etag, ranges: true, pace: size(name) == big})
	})
	for _, c := range []struct {
		name     string
		args     []string
		attempts int // 0: failed
	}{
		{"plain", []string{"--retry", "3"}, 3},
		{"nocl", []string{"--retry", "3"}, 2},
		{"plain0", []string{"--retry", "0"}, 0},
		{"nocl-retry0", []string{"--retry", "0"}, 0},
		{"status-only0", []string{"--retry", "0"}, 0},
		// The probe: cut once, then 1 probe + 4 ranges.
		{"probe", []string{"--retry", "3", "--split", "4", "--min-split-size", "1M"}, 6},
		{"probe0", []string{"--retry", "0", "--split", "4", "--min-split-size", "1M"}, 0},
		// A range (hit 3; hit 1 is the probe): retried alone, the entry
		// still whole.
		{"rangecut", []string{"--retry", "3", "--split", "4", "--min-split-size", "1M"}, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := mg(t, dir, append([]string{"-d", "out", "--json", "--retry-delay", "10ms", s.URL + "/h/" + c.name}, c.args...)...)
			res := single(t, r)
			if c.attempts == 0 {
				wantFailed(t, r, res, 1, "response headers")
				wantAbsent(t, filepath.Join(dir, "out", c.name), filepath.Join(dir, "out", c.name+".part"))
				noLeftovers(t, dir)
				return
			}
			wantOK(t, r, res, c.attempts)
			wantFile(t, filepath.Join(dir, "out", c.name), testserver.Content(c.name, size(c.name)))
			noLeftovers(t, dir)
		})
	}
}

// Issue 15 item 5: like nginx, the server sends Accept-Ranges on a 200 but
// not on a 206, and every response is cut after some bytes. A 206 that
// continued the file is proof enough that ranges work: every retry asks
// for the bytes from where the previous attempt stopped, never for the
// whole file again, and the file ends whole.
func TestResumeWithoutAcceptRangesOn206(t *testing.T) {
	t.Parallel()
	const size, step = 1000000, 150000 // 7 attempts
	name := "nginx206"
	etag := testserver.ETag(name, size, 0)
	s := newFaultServer(t, func(w http.ResponseWriter, r *http.Request, name string, hit int) int {
		return serveBody(w, r, testserver.Content(name, size), bodyOpts{etag: etag, ranges: true, cut: step,
			acceptRanges: func(status int) bool { return status == http.StatusOK }})
	})
	dir := t.TempDir()
	r := mg(t, dir, "-d", "out", "--json", "--retry", "10", "--retry-delay", "1ms", "--retry-max-delay", "5ms", s.URL+"/n/"+name)
	res := single(t, r)
	wantOK(t, r, res, 7)
	if res.Bytes != size {
		t.Errorf("received %d bytes over all attempts, want %d: each byte once", res.Bytes, size)
	}
	q := s.log(name)
	for i, x := range q {
		want := ""
		if i > 0 {
			want = fmt.Sprintf("bytes=%d-", i*step)
		}
		if x.rng != want || (i > 0 && x.ifRange != etag) {
			t.Errorf("request %d: Range %q If-Range %q, want %q and the ETag", i+1, x.rng, x.ifRange, want)
		}
	}
	if t.Failed() {
		t.Logf("requests:\n%s", s)
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// Issue 15 item 15: 40 entries told "Retry-After: 1" at the same moment do
// not all come back at the same instant. Each retry comes no sooner than
// 1 s after its entry's first request (the server's minimum), and the
// retries are spread out.
func TestRetryAfterSpread(t *testing.T) {
	t.Parallel()
	const n, size = 40, 1000
	s := newFaultServer(t, func(w http.ResponseWriter, r *http.Request, name string, hit int) int {
		if hit == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return http.StatusServiceUnavailable
		}
		return serveBody(w, r, testserver.Content(name, size), bodyOpts{etag: testserver.ETag(name, size, 0)})
	})
	var list strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&list, "%s/ra/e%d\n", s.URL, i)
	}
	dir := t.TempDir()
	// --retry-delay 1ms: the backoff alone would bring every retry back
	// within milliseconds; only Retry-After (and its jitter) delays them.
	r := mgList(t, dir, list.String(), "-d", "out", "--json", "-j", strconv.Itoa(n), "--retry-delay", "1ms")
	if r.code != 0 || len(r.results) != n {
		t.Fatalf("want %d ok results\n%s", n, r)
	}
	var waits []time.Duration
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("e%d", i)
		q := s.log(name)
		if len(q) != 2 {
			t.Fatalf("%s: %d requests, want 2", name, len(q))
		}
		w := q[1].at.Sub(q[0].at)
		if w < time.Second {
			t.Errorf("%s: retry %v after the first request, sooner than Retry-After: 1", name, w)
		}
		waits = append(waits, w)
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	// Each wait is 1 s plus a jitter drawn uniformly from [0, 500 ms].
	// Retries that all wake together span a few milliseconds (3.7 ms here
	// before the jitter, 11 ms in the report). The chance that 40 uniform
	// draws from [0, 500 ms] all fall within 150 ms of each other is
	// 40*0.3^39 - 39*0.3^40, about 1.1e-19.
	span := waits[n-1] - waits[0]
	t.Logf("retries came %v .. %v after their first request (span %v)", waits[0], waits[n-1], span)
	if span < 150*time.Millisecond {
		t.Errorf("retries spread over %v only (waits %v .. %v): they come back together", span, waits[0], waits[n-1])
	}
}
