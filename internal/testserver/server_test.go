package testserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

// client never follows redirects (tests look at them) and keeps its own
// connection pool so one test's broken connections cannot leak into another.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type result struct {
	resp *http.Response
	body []byte
	err  error // from Do or from reading the body
}

func do(t *testing.T, c *http.Client, method, u string, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return result{resp: resp, body: body, err: err}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) result {
	t.Helper()
	return do(t, c, http.MethodGet, u, hdr...)
}

// wantFile checks a complete 200 carrying Content(name, size) and the
// standard data headers.
func wantFile(t *testing.T, r result, name string, size int) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("want file, got error %v", r.err)
	}
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("want 200, got %d: %q", r.resp.StatusCode, r.body)
	}
	if !bytes.Equal(r.body, Content(name, size)) {
		t.Fatalf("body differs from Content(%q, %d) (len %d)", name, size, len(r.body))
	}
	h := r.resp.Header
	if h.Get("Content-Length") != strconv.Itoa(size) || h.Get("Accept-Ranges") != "bytes" ||
		h.Get("ETag") != ETag(name, size, 0) || h.Get("Last-Modified") != LastModified(0).Format(http.TimeFormat) {
		t.Fatalf("headers: %v", h)
	}
}

func wantRange(t *testing.T, r result, full []byte, start, end int) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("want 206, got error %v", r.err)
	}
	if r.resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("want 206, got %d", r.resp.StatusCode)
	}
	cr := fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(full))
	if got := r.resp.Header.Get("Content-Range"); got != cr {
		t.Fatalf("Content-Range %q, want %q", got, cr)
	}
	if !bytes.Equal(r.body, full[start:end]) {
		t.Fatalf("206 body is not full[%d:%d]", start, end)
	}
}

func TestContent(t *testing.T) {
	a := Content("a", 1000)
	if !bytes.Equal(a, Content("a", 1000)) {
		t.Fatal("not deterministic")
	}
	if !bytes.Equal(Content("a", 37), a[:37]) {
		t.Fatal("shorter content is not a prefix")
	}
	if bytes.Equal(a, Content("b", 1000)) || bytes.Equal(a, ContentVersion("a", 1000, 1)) {
		t.Fatal("different names give the same content")
	}
	if !bytes.Equal(ContentVersion("a", 50, 2), Content("a-v2", 50)) || !bytes.Equal(ContentVersion("a", 50, 0), a[:50]) {
		t.Fatal("ContentVersion does not match its definition")
	}
	// fill at an unaligned offset must agree with the whole.
	p := make([]byte, 13)
	fill(seedFor("a"), 501, p)
	if !bytes.Equal(p, a[501:514]) {
		t.Fatal("fill at offset disagrees with Content")
	}
	if ETag("a", 1, 0) == ETag("a", 1, 1) || ETag("a", 1, 0) == ETag("a", 2, 0) {
		t.Fatal("ETag does not depend on size and version")
	}
}

func TestOKAndRanges(t *testing.T) {
	s, c := newServer(t), client(t)
	const size = 100000
	name := "ok-ranges"
	u := s.URLFor("ok/" + strconv.Itoa(size) + "/" + name)
	full := Content(name, size)
	etag, lm := ETag(name, size, 0), LastModified(0).Format(http.TimeFormat)

	wantFile(t, get(t, c, u), name, size)

	h := do(t, c, http.MethodHead, u)
	if h.err != nil || h.resp.StatusCode != 200 || len(h.body) != 0 || h.resp.ContentLength != size {
		t.Fatalf("HEAD: %+v", h)
	}
	wantRange(t, get(t, c, u, "Range", "bytes=1000-"), full, 1000, size)
	wantRange(t, get(t, c, u, "Range", "bytes=10-19"), full, 10, 20)
	wantRange(t, get(t, c, u, "Range", "bytes=10-999999"), full, 10, size)
	wantRange(t, get(t, c, u, "Range", "bytes=-5"), full, size-5, size)
	wantRange(t, get(t, c, u, "Range", "bytes=7-", "If-Range", etag), full, 7, size)
	wantRange(t, get(t, c, u, "Range", "bytes=7-", "If-Range", lm), full, 7, size)
	wantFile(t, get(t, c, u, "Range", "bytes=7-", "If-Range", `"stale"`), name, size)
	wantFile(t, get(t, c, u, "Range", "bytes=7-", "If-Range", LastModified(1).Format(http.TimeFormat)), name, size)
	wantFile(t, get(t, c, u, "Range", "bytes=0-1,5-6"), name, size)
	wantFile(t, get(t, c, u, "Range", "items=0-1"), name, size)

	r := get(t, c, u, "Range", fmt.Sprintf("bytes=%d-", size))
	if r.err != nil || r.resp.StatusCode != 416 || r.resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
		t.Fatalf("416: %+v", r)
	}

	reqs := s.Requests(name)
	if s.Hits(name) != 13 || len(reqs) != 13 {
		t.Fatalf("hits %d, requests %d", s.Hits(name), len(reqs))
	}
	if reqs[6].Range != "bytes=7-" || reqs[6].IfRange != etag || reqs[1].Method != "HEAD" || reqs[12].Hit != 13 {
		t.Fatalf("request log wrong: %+v", reqs[6])
	}

	wantFile(t, get(t, c, s.URLFor("/ok/0/empty")), "empty", 0)
}

func TestStatus(t *testing.T) {
	s, c := newServer(t), client(t)
	for _, code := range []int{503, 500, 502, 504, 408, 404, 403} {
		for _, k := range []int{0, 1, 3} {
			name := fmt.Sprintf("status-%d-%d", code, k)
			u := s.URLFor(fmt.Sprintf("status/%d/%d/777/%s", code, k, name))
			for i := 0; i < k; i++ {
				r := get(t, c, u)
				if r.err != nil || r.resp.StatusCode != code || !strings.HasPrefix(string(r.body), "testserver: injected") {
					t.Fatalf("%s hit %d: %+v", name, i+1, r)
				}
			}
			wantFile(t, get(t, c, u), name, 777)
			if s.Hits(name) != k+1 {
				t.Fatalf("%s: hits %d", name, s.Hits(name))
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	s, c := newServer(t), client(t)
	u := s.URLFor("retry-after/7/2/500/ra")
	for i := 0; i < 2; i++ {
		r := get(t, c, u)
		if r.err != nil || r.resp.StatusCode != 429 || r.resp.Header.Get("Retry-After") != "7" {
			t.Fatalf("hit %d: %+v", i+1, r)
		}
	}
	wantFile(t, get(t, c, u), "ra", 500)

	u = s.URLFor("retry-after-date/30/1/500/rad")
	r := get(t, c, u)
	if r.err != nil || r.resp.StatusCode != 429 {
		t.Fatalf("%+v", r)
	}
	when, err := http.ParseTime(r.resp.Header.Get("Retry-After"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(when); d < 28*time.Second || d > 32*time.Second {
		t.Fatalf("Retry-After date is %v ahead", d)
	}
	wantFile(t, get(t, c, u), "rad", 500)

	if got := retryDate(time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC), 5); got != "Tue, 01 Jan 2030 00:00:06 GMT" {
		t.Fatalf("retryDate does not round up: %s", got)
	}
}

// TestCuts proves each broken-body route breaks K times with exactly AT
// bytes delivered, that a resume from AT completes the file, and that the
// route then behaves.
func TestCuts(t *testing.T) {
	const size, at, k = 300000, 123457, 2
	for _, tc := range []struct {
		route   string
		wantErr func(error) bool
	}{
		{"rst", func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
		{"short", func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"chunked-trunc", func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
	} {
		t.Run(tc.route, func(t *testing.T) {
			s, c := newServer(t), client(t)
			name := "cut-" + tc.route
			u := s.URLFor(fmt.Sprintf("%s/%d/%d/%d/%s", tc.route, at, k, size, name))
			full := Content(name, size)
			for i := 0; i < k; i++ {
				r := get(t, c, u)
				if r.err == nil || !tc.wantErr(r.err) {
					t.Fatalf("hit %d: want the fault, got err %v", i+1, r.err)
				}
				if len(r.body) != at || !bytes.Equal(r.body, full[:at]) {
					t.Fatalf("hit %d: got %d bytes before the fault, want %d", i+1, len(r.body), at)
				}
				chunkedWant := tc.route == "chunked-trunc"
				if got := len(r.resp.TransferEncoding) > 0; got != chunkedWant {
					t.Fatalf("chunked = %v", got)
				}
			}
			wantRange(t, get(t, c, u, "Range", fmt.Sprintf("bytes=%d-", at), "If-Range", ETag(name, size, 0)), full, at, size)
			r := get(t, c, u)
			if r.err != nil || r.resp.StatusCode != 200 || !bytes.Equal(r.body, full) {
				t.Fatalf("after faults: %+v", r.err)
			}
			if reqs := s.Requests(name); reqs[k].Range != fmt.Sprintf("bytes=%d-", at) {
				t.Fatalf("request log: %+v", reqs[k])
			}
		})
	}
}

// A cut on a range request counts AT from the range start.
func TestCutOfRange(t *testing.T) {
	s, c := newServer(t), client(t)
	full := Content("cutrange", 5000)
	r := get(t, c, s.URLFor("rst/100/1/5000/cutrange"), "Range", "bytes=1000-")
	if r.err == nil || r.resp.StatusCode != 206 || !bytes.Equal(r.body, full[1000:1100]) {
		t.Fatalf("%v %d", r.err, len(r.body))
	}
	if r.resp.ContentLength != 4000 {
		t.Fatalf("Content-Length %d", r.resp.ContentLength)
	}
}

func TestStall(t *testing.T) {
	s, c := newServer(t), client(t)
	const size, at = 50000, 1000
	u := s.URLFor(fmt.Sprintf("stall/%d/2/%d/st", at, size))
	full := Content("st", size)

	// Hit 1: the client gives up; the handler must notice and return.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, at)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || !bytes.Equal(buf, full[:at]) {
		t.Fatal("first AT bytes", err)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, func() bool { return s.inflightNow() == 0 })

	// Hit 2: Release ends the wait and the body stays short.
	resp, err = c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		got <- b
	}()
	select {
	case <-got:
		t.Fatal("stall did not stall")
	case <-time.After(200 * time.Millisecond):
	}
	s.Release()
	if b := <-got; !bytes.Equal(b, full[:at]) {
		t.Fatalf("after release got %d bytes", len(b))
	}
	resp.Body.Close()

	wantFile(t, get(t, c, u), "st", size)
}

func TestCloseEndsStall(t *testing.T) {
	s := New()
	c := client(t)
	go func() {
		if r, err := c.Get(s.URLFor("stall/10/1/100/cst")); err == nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	}()
	waitFor(t, func() bool { return s.inflightNow() == 1 })
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a stall")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached")
}

func TestRedirects(t *testing.T) {
	s, c := newServer(t), client(t)
	for _, tc := range []struct{ path, code, loc string }{
		{"/loop/lp", "302", s.URL + "/loop/lp"},
		{"/loop/lp?x=1", "302", s.URL + "/loop/lp?x=1"},
		{"/redirect-file/rf", "302", "file:///etc/passwd"},
		{"/redirect/rd?to=" + url.QueryEscape("http://other.invalid:81/ok/5/x"), "302", "http://other.invalid:81/ok/5/x"},
		{"/redirect/rd?code=307&to=" + url.QueryEscape("/ok/5/x"), "307", "/ok/5/x"},
	} {
		r := get(t, c, s.URLFor(tc.path))
		if r.err != nil || strconv.Itoa(r.resp.StatusCode) != tc.code || r.resp.Header.Get("Location") != tc.loc {
			t.Fatalf("%s: %v %v", tc.path, r.err, r.resp)
		}
	}
	// Following the loop never ends.
	if _, err := (&http.Client{}).Get(s.URLFor("/loop/lp2")); err == nil || s.Hits("lp2") < 10 {
		t.Fatalf("loop followed to an end: %v", err)
	}
}

func TestContentDisposition(t *testing.T) {
	s, c := newServer(t), client(t)
	long := strings.Repeat("n", 300)
	for _, tc := range []struct{ route, v, want string }{
		{"cd", "../../x", `attachment; filename="../../x"`},
		{"cd", "/etc/x", `attachment; filename="/etc/x"`},
		{"cd", long, `attachment; filename="` + long + `"`},
		{"cd", "a\tb", "attachment; filename=\"a\tb\""},
		{"cd5987", "ü ../x.txt", "attachment; filename*=UTF-8''%C3%BC%20..%2Fx.txt"},
	} {
		name := "cd" + strconv.Itoa(len(tc.v))
		r := get(t, c, s.URLFor(tc.route+"/"+name+"?filename="+url.QueryEscape(tc.v)))
		if r.err != nil || r.resp.StatusCode != 200 || r.resp.Header.Get("Content-Disposition") != tc.want {
			t.Fatalf("%q: %v %q", tc.v, r.err, r.resp.Header.Get("Content-Disposition"))
		}
		if !bytes.Equal(r.body, Content(name, 100)) {
			t.Fatal("cd body")
		}
	}
	r := get(t, c, s.URLFor("cd5987/fb?filename=x&fallback=y"))
	if r.err != nil || r.resp.Header.Get("Content-Disposition") != `attachment; filename="y"; filename*=UTF-8''x` {
		t.Fatalf("fallback: %v", r.resp.Header)
	}
}

// raw=1 must put control bytes on the wire untouched; net/http's client
// would reject them, so read the response off a plain TCP connection.
func TestContentDispositionRaw(t *testing.T) {
	s := newServer(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	v := "a\x01b\r\nX-Injected: 1"
	fmt.Fprintf(conn, "GET /cd/raw?raw=1&filename=%s HTTP/1.1\r\nHost: x\r\n\r\n", url.QueryEscape(v))
	all, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(all, []byte("Content-Disposition: attachment; filename=\""+v+"\"\r\n")) {
		t.Fatalf("raw header not verbatim:\n%q", all)
	}
	if !bytes.HasSuffix(all, Content("raw", 100)) {
		t.Fatal("raw body")
	}
}

func TestAuth(t *testing.T) {
	s, c := newServer(t), client(t)
	u := s.URLFor("auth/s3cret/400/au")
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic s3cret"}} {
		r := get(t, c, u, hdr...)
		if r.err != nil || r.resp.StatusCode != 401 || r.resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Fatalf("%v: %+v", hdr, r)
		}
	}
	wantFile(t, get(t, c, u, "Authorization", "Bearer s3cret", "Cookie", "k=v"), "au", 400)
	reqs := s.Requests("au")
	if reqs[0].Authorization != "" || reqs[3].Authorization != "Bearer s3cret" || reqs[3].Cookie != "k=v" {
		t.Fatalf("request log: %+v", reqs)
	}
}

func TestNoRange(t *testing.T) {
	s, c := newServer(t), client(t)
	r := get(t, c, s.URLFor("norange/1000/nr"), "Range", "bytes=10-")
	if r.err != nil || r.resp.StatusCode != 200 || !bytes.Equal(r.body, Content("nr", 1000)) ||
		r.resp.Header.Get("Accept-Ranges") != "" || r.resp.Header.Get("Content-Range") != "" || r.resp.ContentLength != 1000 {
		t.Fatalf("%+v", r.resp)
	}
}

func TestChanging(t *testing.T) {
	s, c := newServer(t), client(t)
	const size = 3000
	u := s.URLFor("changing/3000/ch")
	var tags []string
	for v := 1; v <= 2; v++ {
		r := get(t, c, u)
		if r.err != nil || r.resp.StatusCode != 200 || !bytes.Equal(r.body, ContentVersion("ch", size, v)) {
			t.Fatalf("version %d wrong", v)
		}
		if r.resp.Header.Get("ETag") != ETag("ch", size, v) || r.resp.Header.Get("Last-Modified") != LastModified(v).Format(http.TimeFormat) {
			t.Fatalf("validators of version %d: %v", v, r.resp.Header)
		}
		tags = append(tags, r.resp.Header.Get("ETag"))
	}
	if tags[0] == tags[1] {
		t.Fatal("ETag did not change")
	}
	// Stale If-Range (version 2's ETag, now version 3): whole new version.
	r := get(t, c, u, "Range", "bytes=100-", "If-Range", tags[1])
	if r.err != nil || r.resp.StatusCode != 200 || !bytes.Equal(r.body, ContentVersion("ch", size, 3)) {
		t.Fatalf("stale If-Range: %+v", r.resp)
	}
	// Without If-Range the range of the new version is served: a client
	// splicing this onto older bytes corrupts its file.
	wantRange(t, get(t, c, u, "Range", "bytes=100-"), ContentVersion("ch", size, 4), 100, size)
}

func TestChangingRST(t *testing.T) {
	s, c := newServer(t), client(t)
	const size, at = 200000, 5000
	u := s.URLFor(fmt.Sprintf("changing-rst/%d/%d/cr", at, size))
	r := get(t, c, u)
	if !errors.Is(r.err, syscall.ECONNRESET) || !bytes.Equal(r.body, ContentVersion("cr", size, 1)[:at]) {
		t.Fatalf("first hit: %v, %d bytes", r.err, len(r.body))
	}
	etag1 := r.resp.Header.Get("ETag")
	r = get(t, c, u, "Range", fmt.Sprintf("bytes=%d-", at), "If-Range", etag1)
	if r.err != nil || r.resp.StatusCode != 200 || !bytes.Equal(r.body, ContentVersion("cr", size, 2)) || r.resp.Header.Get("ETag") == etag1 {
		t.Fatalf("resume with stale If-Range: %v %d", r.err, r.resp.StatusCode)
	}
	// A blind resume gets version 3's tail.
	wantRange(t, get(t, c, u, "Range", fmt.Sprintf("bytes=%d-", at)), ContentVersion("cr", size, 3), at, size)
}

// /throttle/ sends the whole file, never faster than its rate: the last of
// 20000 bytes at 40000 B/s leaves 450 ms after the first. Only the lower
// bound is checked; a loaded machine can make any run slower.
func TestThrottle(t *testing.T) {
	s, c := newServer(t), client(t)
	start := time.Now()
	wantFile(t, get(t, c, s.URLFor("throttle/40000/20000/th")), "th", 20000)
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("20000 bytes at 40000 B/s took %v: not throttled", d)
	}
	wantRange(t, get(t, c, s.URLFor("throttle/100000/20000/th"), "Range", "bytes=19000-"), Content("th", 20000), 19000, 20000)
}

// /throttle-hit/ paces only the hit it names; the others get the same file.
func TestThrottleHit(t *testing.T) {
	s, c := newServer(t), client(t)
	u := s.URLFor("throttle-hit/40000/2/20000/tk")
	wantFile(t, get(t, c, u), "tk", 20000)
	start := time.Now()
	wantRange(t, get(t, c, u, "Range", "bytes=1000-"), Content("tk", 20000), 1000, 20000)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("hit 2, 19000 bytes at 40000 B/s, took %v", d)
	}
	wantFile(t, get(t, c, u), "tk", 20000)
}

func TestEcho(t *testing.T) {
	s, c := newServer(t), client(t)
	r := get(t, c, s.URLFor("echo/ec"), "X-B", "2", "X-A", "1", "Cookie", "c=d")
	if r.err != nil || r.resp.StatusCode != 200 {
		t.Fatal(r.err)
	}
	body := string(r.body)
	host := strings.TrimPrefix(s.URL, "http://")
	for _, line := range []string{"Cookie: c=d", "Host: " + host, "X-A: 1", "X-B: 2"} {
		if !strings.Contains(body, line+"\n") {
			t.Fatalf("missing %q in\n%s", line, body)
		}
	}
	if strings.Index(body, "X-A: 1") > strings.Index(body, "X-B: 2") {
		t.Fatal("not sorted")
	}
}

func TestMaxInflight(t *testing.T) {
	s, c := newServer(t), client(t)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(t, c, s.URLFor(fmt.Sprintf("throttle/10000/3000/mi%d", i)))
		}()
	}
	wg.Wait()
	if got := s.MaxInflight(); got != 4 {
		t.Fatalf("MaxInflight %d, want 4", got)
	}
}

func TestBadRoutes(t *testing.T) {
	s, c := newServer(t), client(t)
	for _, p := range []string{"/nope/x", "/ok/x", "/ok/-1/x", "/ok/1/", "/status/99/1/1/x", "/redirect/x", "/cd/x", "/throttle/0/1/x"} {
		r := get(t, c, s.URLFor(p))
		if r.err != nil || r.resp.StatusCode != 400 || !strings.HasPrefix(string(r.body), "testserver:") {
			t.Fatalf("%s: %+v", p, r.resp)
		}
	}
}
