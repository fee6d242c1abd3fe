package cmd_test

// Reliability end-to-end tests: the built multiget binary (binDir, from
// TestMain) against internal/testserver, a fault-injecting server. Each test
// starts its own server and checks what matters to a user: the bytes on
// disk, the absence of partial or misplaced files, the JSON result of every
// entry (status, attempts, codes), exit codes and stderr.
//
// No assertion depends on how long something took, except lower bounds
// taken from a request log (a retry cannot come sooner than the server
// asked), which cannot flake.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// jsonResult is one --json line.
type jsonResult struct {
	Source       string            `json:"source"`
	URL          string            `json:"url"`
	EffectiveURL string            `json:"effective_url"`
	Path         string            `json:"path"`
	Status       string            `json:"status"`
	HTTPCode     int               `json:"http_code"`
	CurlCode     int               `json:"curl_code"`
	Error        string            `json:"error"`
	Bytes        int64             `json:"bytes"`
	DurationMS   int64             `json:"duration_ms"`
	Attempts     int               `json:"attempts"`
	Checksums    map[string]string `json:"checksums"`
}

// mgRun is the outcome of one multiget process.
type mgRun struct {
	args           []string
	code           int
	stdout, stderr string
	results        []jsonResult // parsed stdout when --json was given
}

func (r mgRun) String() string {
	return fmt.Sprintf("multiget %q: exit %d\nstdout:\n%s\nstderr:\n%s", r.args, r.code, r.stdout, r.stderr)
}

// mg runs the built binary in dir with a 30 s limit.
func mg(t *testing.T, dir string, args ...string) mgRun {
	t.Helper()
	return mgTimeout(t, 30*time.Second, dir, args...)
}

// mgList writes list to dir/list.txt and runs the binary on it with args.
func mgList(t *testing.T, dir, list string, args ...string) mgRun {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	return mg(t, dir, append(args, "-i", "list.txt")...)
}

// mgTimeout runs the built binary in dir; a run that outlives timeout is
// killed and fails the test (a wrong implementation must fail, not hang).
func mgTimeout(t *testing.T, timeout time.Duration, dir string, args ...string) mgRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "multiget"), args...)
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := mgRun{args: args, stdout: so.String(), stderr: se.String()}
	if ctx.Err() != nil {
		t.Fatalf("multiget %q did not finish within %v\nstderr:\n%s", args, timeout, r.stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running multiget: %v", err)
	}
	r.code = cmd.ProcessState.ExitCode()
	for _, a := range args {
		if a == "--json" {
			r.results = parseJSONLines(t, r.stdout)
		}
	}
	return r
}

// parseJSONLines parses stdout of a --json run: every line one object,
// an entry's; after the last of them, the records of hosts that pushed
// back, which are checked and left out.
func parseJSONLines(t *testing.T, out string) []jsonResult {
	t.Helper()
	var res []jsonResult
	hosts := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Record string `json:"record"`
			Host   string `json:"host"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("stdout line is not a JSON object: %v\n%s", err, sc.Text())
		}
		if rec.Record != "" {
			if rec.Record != "host" || rec.Host == "" {
				t.Fatalf("a record of another kind than host: %s", sc.Text())
			}
			hosts++
			continue
		}
		if hosts > 0 {
			t.Fatalf("an entry's object after a host record: %s", sc.Text())
		}
		var r jsonResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("stdout line is not a JSON object: %v\n%s", err, sc.Text())
		}
		res = append(res, r)
	}
	return res
}

// single returns the one JSON result of a run with one entry.
func single(t *testing.T, r mgRun) jsonResult {
	t.Helper()
	if len(r.results) != 1 {
		t.Fatalf("want exactly 1 JSON result, got %d\n%s", len(r.results), r)
	}
	return r.results[0]
}

// bySource indexes results by source, failing on duplicates.
func bySource(t *testing.T, r mgRun) map[string]jsonResult {
	t.Helper()
	m := map[string]jsonResult{}
	for _, x := range r.results {
		if _, dup := m[x.Source]; dup {
			t.Fatalf("two results for %s\n%s", x.Source, r)
		}
		m[x.Source] = x
	}
	return m
}

func wantFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes differ from the expected %d (first difference at %d)", path, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func wantAbsent(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists, want none", p)
		} else if !os.IsNotExist(err) {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// noLeftovers: no .part and no .meta file anywhere under dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".part") || strings.HasSuffix(p, ".part.meta")) {
			t.Errorf("leftover %s", p)
		}
		return nil
	})
}

// regularFiles lists the regular files under root, relative to it.
func regularFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func wantOK(t *testing.T, r mgRun, res jsonResult, attempts int) {
	t.Helper()
	if r.code != 0 || res.Status != "ok" || res.Attempts != attempts || res.Error != "" {
		t.Fatalf("want ok after %d attempts (exit 0), got status %q attempts %d error %q\n%s",
			attempts, res.Status, res.Attempts, res.Error, r)
	}
}

func wantFailed(t *testing.T, r mgRun, res jsonResult, attempts int, errPart string) {
	t.Helper()
	if r.code != 1 || res.Status != "failed" || res.Attempts != attempts || !strings.Contains(res.Error, errPart) {
		t.Fatalf("want failed after %d attempts with %q (exit 1), got status %q attempts %d error %q\n%s",
			attempts, errPart, res.Status, res.Attempts, res.Error, r)
	}
	if !strings.Contains(r.stderr, errPart) {
		t.Errorf("stderr does not say %q:\n%s", errPart, r.stderr)
	}
}

// recProxy is a reverse proxy in front of a testserver that stamps, per
// NAME, when each request arrived and when its response headers were
// handed back to the client. A hook may hold a request before forwarding.
type recProxy struct {
	*httptest.Server
	mu     sync.Mutex
	stamps map[string][]*stamp
}

type stamp struct {
	arrived, answered time.Time
	retryAfter        string // the response's Retry-After header
}

type stampKey struct{}

func newRecProxy(target string, hold func(r *http.Request)) *recProxy {
	u, _ := url.Parse(target)
	p := &recProxy{stamps: map[string][]*stamp{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if st, ok := resp.Request.Context().Value(stampKey{}).(*stamp); ok {
			p.mu.Lock()
			st.answered = time.Now()
			st.retryAfter = resp.Header.Get("Retry-After")
			p.mu.Unlock()
		}
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &stamp{arrived: time.Now()}
		name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		p.mu.Lock()
		p.stamps[name] = append(p.stamps[name], st)
		p.mu.Unlock()
		if hold != nil {
			hold(r)
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stampKey{}, st)))
	}))
	return p
}

func (p *recProxy) get(name string) []stamp {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []stamp
	for _, s := range p.stamps[name] {
		out = append(out, *s)
	}
	return out
}

// startServer starts a fault-injection server for one test; cleanups run
// last-first, so waiting handlers are released before the server closes.
func startServer(t *testing.T) *testserver.Server {
	s := testserver.New()
	t.Cleanup(s.Close)
	t.Cleanup(s.Release)
	return s
}

// 1. Transient HTTP statuses are retried until the file comes; permanent
// ones fail at once; a transient status that never ends exhausts --retry.
func TestRetryHTTPStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 50000
	for _, code := range []int{503, 500, 502, 504, 408, 429} {
		t.Run(fmt.Sprintf("transient_%d", code), func(t *testing.T) {
			dir := t.TempDir()
			name := fmt.Sprintf("st%d", code)
			r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "10ms", "--retry-max-delay", "50ms",
				s.URLFor(fmt.Sprintf("/status/%d/2/%d/%s", code, size, name)))
			res := single(t, r)
			wantOK(t, r, res, 3)
			if res.HTTPCode != 200 || res.Bytes != size {
				t.Errorf("http_code %d bytes %d, want 200 and %d", res.HTTPCode, res.Bytes, size)
			}
			if n := s.Hits(name); n != 3 {
				t.Errorf("server got %d requests, want 3", n)
			}
			wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
			noLeftovers(t, dir)
		})
	}
	for _, code := range []int{404, 403, 401, 410} {
		t.Run(fmt.Sprintf("permanent_%d", code), func(t *testing.T) {
			dir := t.TempDir()
			name := fmt.Sprintf("perm%d", code)
			r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "10ms",
				s.URLFor(fmt.Sprintf("/status/%d/1/%d/%s", code, size, name)))
			res := single(t, r)
			wantFailed(t, r, res, 1, fmt.Sprintf("HTTP %d %s", code, http.StatusText(code)))
			if res.HTTPCode != code {
				t.Errorf("http_code %d, want %d", res.HTTPCode, code)
			}
			if n := s.Hits(name); n != 1 {
				t.Errorf("server got %d requests, want 1: a permanent status was retried", n)
			}
			if files := regularFiles(t, dir); len(files) != 0 {
				t.Errorf("files written for a failed entry: %v", files)
			}
		})
	}
	t.Run("exhausted", func(t *testing.T) {
		dir := t.TempDir()
		name := "forever503"
		r := mg(t, dir, "-d", "out", "--json", "--retry", "2", "--retry-delay", "10ms",
			s.URLFor(fmt.Sprintf("/status/503/1000/%d/%s", size, name)))
		res := single(t, r)
		wantFailed(t, r, res, 3, "HTTP 503 Service Unavailable")
		if !strings.Contains(res.Error, "gave up after 3 attempts") {
			t.Errorf("error %q does not say it gave up after 3 attempts", res.Error)
		}
		if n := s.Hits(name); n != 3 {
			t.Errorf("server got %d requests, want 3", n)
		}
		if files := regularFiles(t, dir); len(files) != 0 {
			t.Errorf("files written for a failed entry: %v", files)
		}
	})
	t.Run("retry0", func(t *testing.T) {
		dir := t.TempDir()
		name := "once503"
		r := mg(t, dir, "-d", "out", "--json", "--retry", "0",
			s.URLFor(fmt.Sprintf("/status/503/1/%d/%s", size, name)))
		wantFailed(t, r, single(t, r), 1, "HTTP 503")
		if n := s.Hits(name); n != 1 {
			t.Errorf("--retry 0: server got %d requests, want 1", n)
		}
	})
}

// 2. Retry-After is honoured (the retry comes no sooner than the server
// asked), and capped by --retry-max-delay.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := newRecProxy(s.URL, nil)
	defer p.Close()
	const size = 30000

	for _, route := range []string{"retry-after", "retry-after-date"} {
		t.Run(route, func(t *testing.T) {
			dir := t.TempDir()
			name := "ra-" + route
			r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "1ms",
				p.URL+fmt.Sprintf("/%s/1/1/%d/%s", route, size, name))
			wantOK(t, r, single(t, r), 2)
			wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
			st := p.get(name)
			if len(st) != 2 {
				t.Fatalf("proxy saw %d requests, want 2", len(st))
			}
			if route == "retry-after" {
				// The 429 was handed to multiget at st[0].answered; a
				// client that waits the Retry-After cannot ask again
				// sooner than 1 s after that.
				if gap := st[1].arrived.Sub(st[0].answered); gap < time.Second {
					t.Errorf("retry came %v after the 429 with Retry-After: 1 (want >= 1s)", gap)
				}
				return
			}
			// An HTTP-date: the retry must not come before that instant.
			date, err := http.ParseTime(st[0].retryAfter)
			if err != nil {
				t.Fatalf("Retry-After %q: %v", st[0].retryAfter, err)
			}
			if st[1].arrived.Round(0).Before(date) {
				t.Errorf("retry came at %v, before the Retry-After date %v", st[1].arrived.Round(0), date)
			}
		})
	}

	t.Run("capped", func(t *testing.T) {
		dir := t.TempDir()
		name := "ra-capped"
		// Retry-After: 30, but --retry-max-delay 100ms: a client that
		// waited 30 s would be killed by the 20 s limit and fail.
		r := mgTimeout(t, 20*time.Second, dir, "-d", "out", "--json", "--retry-delay", "1ms", "--retry-max-delay", "100ms",
			s.URLFor(fmt.Sprintf("/retry-after/30/1/%d/%s", size, name)))
		wantOK(t, r, single(t, r), 2)
		wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	})
}

// 3. A body cut mid-way (RST, short FIN, truncated chunked) is resumed
// with a Range from exactly the byte where the first response ended,
// checked by If-Range; the result is the whole file, fetched once.
func TestResumeAfterCut(t *testing.T) {
	t.Parallel()
	const size, at = 1000000, 300000
	for _, route := range []string{"rst", "short", "chunked-trunc"} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			dir := t.TempDir()
			name := "cut-" + route
			r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "10ms",
				s.URLFor(fmt.Sprintf("/%s/%d/1/%d/%s", route, at, size, name)))
			res := single(t, r)
			wantOK(t, r, res, 2)
			if res.Bytes != size {
				t.Errorf("bytes %d over both attempts, want %d (each byte fetched once)", res.Bytes, size)
			}
			reqs := wantRetriedFrom(t, s, name, at)
			if reqs[0].Range != "" {
				t.Errorf("first request had Range %q", reqs[0].Range)
			}
			if want := testserver.ETag(name, size, 0); reqs[1].IfRange != want {
				t.Errorf("retry If-Range %q, want the ETag %q", reqs[1].IfRange, want)
			}
			wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
			noLeftovers(t, dir)
		})
	}
}

// 4. A transfer that stops receiving is failed by --stall-timeout and
// retried from where it stopped.
func TestStallTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, at = 500000, 100000
	dir := t.TempDir()
	name := "stall"
	r := mgTimeout(t, 40*time.Second, dir, "-d", "out", "--json", "--stall-timeout", "1s", "--retry-delay", "10ms",
		s.URLFor(fmt.Sprintf("/stall/%d/1/%d/%s", at, size, name)))
	wantOK(t, r, single(t, r), 2)
	wantRetriedFrom(t, s, name, at)
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// 5. The file changed between attempts: If-Range makes the server send the
// new version whole, and the result is exactly that version, not a splice.
func TestResumeChangedFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, at = 800000, 300000
	dir := t.TempDir()
	name := "changing"
	r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "10ms",
		s.URLFor(fmt.Sprintf("/changing-rst/%d/%d/%s", at, size, name)))
	wantOK(t, r, single(t, r), 2)
	reqs := wantRetriedFrom(t, s, name, at)
	if want := testserver.ETag(name, size, 1); reqs[1].IfRange != want {
		t.Errorf("retry If-Range %q, want version 1's ETag %q", reqs[1].IfRange, want)
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.ContentVersion(name, size, 2))
	noLeftovers(t, dir)
}

// 9. Redirect policy failures are final: a loop stops at --max-redirs
// (curl 47) and a redirect to file:// is refused; neither is retried and
// nothing is written.
func TestRedirectFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	t.Run("loop", func(t *testing.T) {
		dir := t.TempDir()
		r := mg(t, dir, "-d", "out", "--json", "--max-redirs", "3", "--retry-delay", "10ms", s.URLFor("/loop/lp"))
		res := single(t, r)
		wantFailed(t, r, res, 1, "(curl 47)")
		if res.CurlCode != 47 {
			t.Errorf("curl_code %d, want 47", res.CurlCode)
		}
		if n := s.Hits("lp"); n != 4 {
			t.Errorf("server got %d requests, want 4 (1 + 3 redirects)", n)
		}
		if files := regularFiles(t, dir); len(files) != 0 {
			t.Errorf("files written: %v", files)
		}
	})
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "10ms", s.URLFor("/redirect-file/rf"))
		res := single(t, r)
		wantFailed(t, r, res, 1, "")
		if res.CurlCode == 0 || res.HTTPCode != 302 {
			t.Errorf("curl_code %d http_code %d, want a curl error after the 302", res.CurlCode, res.HTTPCode)
		}
		if n := s.Hits("rf"); n != 1 {
			t.Errorf("server got %d requests, want 1", n)
		}
		if files := regularFiles(t, dir); len(files) != 0 {
			t.Errorf("files written: %v", files)
		}
	})
}

// 10. --content-disposition names files from the server, but never outside
// --dir: paths are cut to their last element, control characters and
// bidirectional controls become "_", long names are shortened; without the
// flag the URL names the file.
func TestContentDisposition(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	root := t.TempDir()
	// A deep --dir, so that a followed "../../x" would land inside root
	// where the walk below sees it.
	out := filepath.Join(root, "a", "b", "out")
	long := strings.Repeat("n", 300) + ".bin"
	cases := []struct {
		name, filename string
		want           string // "" = check the long-name rule instead
		flag           bool
		route          string // "" = /cd/
	}{
		{"cd1", "../../x", "x", true, ""},
		// An absolute path (inside root, not /etc, so a bug cannot damage
		// the system) must not be followed either.
		{"cd2", filepath.Join(root, "etc", "passwd"), "passwd", true, ""},
		{"cd3", "a\x01b\x7fc\x1b.txt", "a_b_c_.txt", true, ""},
		{"cd4", long, "", true, ""},
		{"cd5", "server-name.txt", "cd5", false, ""},
		// "\u202egpj.exe" would display as "exe.jpg".
		{"cd6", "\u202egpj.exe", "_gpj.exe", true, ""},
		{"cd7", "a\u2066b\u2069\u200f\u061c.txt", "a_b___.txt", true, "/cd5987/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"-d", out, "--json"}
			if c.flag {
				args = append(args, "--content-disposition")
			}
			route := c.route
			if route == "" {
				route = "/cd/"
			}
			args = append(args, s.URLFor(route+c.name+"?raw=1&filename="+url.QueryEscape(c.filename)))
			r := mg(t, root, args...)
			res := single(t, r)
			wantOK(t, r, res, 1)
			want := c.want
			if want == "" {
				// The shortened name: at most 250 bytes, the extension kept.
				ents, _ := os.ReadDir(out)
				for _, e := range ents {
					if strings.HasPrefix(e.Name(), "nnnn") {
						want = e.Name()
					}
				}
				if want == "" {
					t.Fatalf("no file for the long name in %s\n%s", out, r)
				}
				if len(want) > 250 || !strings.HasSuffix(want, ".bin") {
					t.Errorf("long name saved as %q (%d bytes): want <= 250 bytes ending .bin", want, len(want))
				}
			}
			if res.Path != filepath.Join(out, want) {
				t.Errorf("path %q, want %q", res.Path, filepath.Join(out, want))
			}
			wantFile(t, filepath.Join(out, want), testserver.Content(c.name, 100))
		})
	}
	// Nothing anywhere under root but the five files in --dir.
	for _, f := range regularFiles(t, root) {
		if filepath.Dir(filepath.Join(root, f)) != out {
			t.Errorf("file written outside --dir: %s", f)
		}
	}
	if n := len(regularFiles(t, out)); n != len(cases) {
		t.Errorf("%d files in --dir, want %d: %v", n, len(cases), regularFiles(t, out))
	}
	noLeftovers(t, root)
}

// 11. A bearer token from -H @FILE is sent to its host; it and URL
// credentials are not sent to another host a redirect leads to.
func TestCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s2 := startServer(t)
	const size = 2000
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hdrs.txt"), []byte("# token\nAuthorization: Bearer T0k3n\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("bearer", func(t *testing.T) {
		r := mg(t, dir, "-d", "out1", "--json", "-H", "@hdrs.txt", s.URLFor(fmt.Sprintf("/auth/T0k3n/%d/au1", size)))
		wantOK(t, r, single(t, r), 1)
		wantFile(t, filepath.Join(dir, "out1", "au1"), testserver.Content("au1", size))
	})
	t.Run("no-token", func(t *testing.T) {
		r := mg(t, dir, "-d", "out2", "--json", "--retry-delay", "10ms", s.URLFor(fmt.Sprintf("/auth/T0k3n/%d/au2", size)))
		res := single(t, r)
		wantFailed(t, r, res, 1, "HTTP 401 Unauthorized")
		if n := s.Hits("au2"); n != 1 {
			t.Errorf("server got %d requests, want 1", n)
		}
		wantAbsent(t, filepath.Join(dir, "out2", "au2"), filepath.Join(dir, "out2", "au2.part"))
	})

	// The second server under another host name: "localhost" instead of
	// 127.0.0.1 (same address, different host to libcurl).
	other := strings.Replace(s2.URL, "127.0.0.1", "localhost", 1)
	t.Run("header-cross-host", func(t *testing.T) {
		to := other + fmt.Sprintf("/ok/%d/x1", size)
		r := mg(t, dir, "-d", "out3", "--json", "-H", "Authorization: Bearer T0k3n",
			s.URLFor("/redirect/rd1?to="+url.QueryEscape(to)))
		wantOK(t, r, single(t, r), 1)
		wantFile(t, filepath.Join(dir, "out3", "rd1"), testserver.Content("x1", size))
		if q := s.Requests("rd1"); len(q) != 1 || q[0].Authorization != "Bearer T0k3n" {
			t.Fatalf("first host did not get the token: %+v", q)
		}
		q := s2.Requests("x1")
		if len(q) != 1 {
			t.Fatalf("second host got %d requests, want 1", len(q))
		}
		if q[0].Authorization != "" {
			t.Errorf("the token leaked to another host: Authorization %q", q[0].Authorization)
		}
	})
	// Same host name, other port: still another origin, so neither a
	// token nor a cookie given with -H may follow the redirect.
	t.Run("header-cross-port", func(t *testing.T) {
		to := s2.URL + fmt.Sprintf("/ok/%d/x3", size)
		r := mg(t, dir, "-d", "out5", "--json", "-H", "Authorization: Bearer T0k3n", "-H", "Cookie: sess=s3cr3t",
			s.URLFor("/redirect/rd3?to="+url.QueryEscape(to)))
		wantOK(t, r, single(t, r), 1)
		if q := s.Requests("rd3"); len(q) != 1 || q[0].Authorization != "Bearer T0k3n" || q[0].Cookie != "sess=s3cr3t" {
			t.Fatalf("first server did not get the token and cookie: %+v", q)
		}
		q := s2.Requests("x3")
		if len(q) != 1 {
			t.Fatalf("second server got %d requests, want 1", len(q))
		}
		if q[0].Authorization != "" || q[0].Cookie != "" {
			t.Errorf("credentials leaked to another port: Authorization %q Cookie %q", q[0].Authorization, q[0].Cookie)
		}
	})
	t.Run("userinfo-cross-host", func(t *testing.T) {
		to := other + fmt.Sprintf("/ok/%d/x2", size)
		src := strings.Replace(s.URL, "http://", "http://u:p@", 1) + "/redirect/rd2?to=" + url.QueryEscape(to)
		r := mg(t, dir, "-d", "out4", "--json", src)
		wantOK(t, r, single(t, r), 1)
		if q := s.Requests("rd2"); len(q) != 1 || q[0].Authorization != "Basic dTpw" {
			t.Fatalf("first host did not get the URL's credentials: %+v", q)
		}
		q := s2.Requests("x2")
		if len(q) != 1 {
			t.Fatalf("second host got %d requests, want 1", len(q))
		}
		if q[0].Authorization != "" {
			t.Errorf("URL credentials leaked to another host: Authorization %q", q[0].Authorization)
		}
	})
}

func sha256hex(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
func sha512hex(b []byte) string { h := sha512.Sum512(b); return hex.EncodeToString(h[:]) }

// 12. Checksums from list lines and --checksum-file are verified before
// the file appears; a mismatch leaves nothing; bad checksum input is
// reported as such.
func TestChecksums(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 70000
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := func(name string) string { return s.URLFor(fmt.Sprintf("/ok/%d/%s", size, name)) }
	good := sha256hex(testserver.Content("ck1", size))

	t.Run("list-right", func(t *testing.T) {
		write("l1.txt", u("ck1")+" sha256="+strings.ToUpper(good)+"\n")
		r := mg(t, dir, "-d", "out1", "--json", "-i", "l1.txt")
		res := single(t, r)
		wantOK(t, r, res, 1)
		if res.Checksums["sha256"] != good {
			t.Errorf("checksums %v, want sha256 %s", res.Checksums, good)
		}
		wantFile(t, filepath.Join(dir, "out1", "ck1"), testserver.Content("ck1", size))
		noLeftovers(t, filepath.Join(dir, "out1"))
	})
	t.Run("list-wrong", func(t *testing.T) {
		wrong := sha256hex([]byte("something else"))
		write("l2.txt", u("ck2")+" sha256="+wrong+"\n")
		r := mg(t, dir, "-d", "out2", "--json", "-i", "l2.txt")
		res := single(t, r)
		wantFailed(t, r, res, 1, "sha256 mismatch")
		if len(res.Checksums) != 0 {
			t.Errorf("checksums %v reported for a mismatch", res.Checksums)
		}
		if files := regularFiles(t, filepath.Join(dir, "out2")); len(files) != 0 {
			t.Errorf("files left after a mismatch: %v", files)
		}
	})
	t.Run("checksum-file", func(t *testing.T) {
		// GNU sha256sum format, BSD sha512 format, and a wrong digest to
		// show the file is really consulted (matched by output name).
		write("SUMS", sha256hex(testserver.Content("ck3", size))+"  ck3\n"+
			"SHA512 (sub/ck4) = "+sha512hex(testserver.Content("ck4", size))+"\n"+
			sha256hex([]byte("nope"))+" *ck5\n")
		write("l3.txt", u("ck3")+"\n"+u("ck4")+" out=sub/ck4\n"+u("ck5")+"\n")
		r := mg(t, dir, "-d", "out3", "--json", "--checksum-file", "SUMS", "-i", "l3.txt")
		m := bySource(t, r)
		if len(m) != 3 || r.code != 1 {
			t.Fatalf("want 3 results and exit 1\n%s", r)
		}
		if x := m["l3.txt:1"]; x.Status != "ok" || x.Checksums["sha256"] != sha256hex(testserver.Content("ck3", size)) {
			t.Errorf("ck3: %+v", x)
		}
		if x := m["l3.txt:2"]; x.Status != "ok" || x.Checksums["sha512"] != sha512hex(testserver.Content("ck4", size)) {
			t.Errorf("ck4: %+v", x)
		}
		if x := m["l3.txt:3"]; x.Status != "failed" || !strings.Contains(x.Error, "sha256 mismatch") {
			t.Errorf("ck5: %+v", x)
		}
		wantFile(t, filepath.Join(dir, "out3", "ck3"), testserver.Content("ck3", size))
		wantFile(t, filepath.Join(dir, "out3", "sub", "ck4"), testserver.Content("ck4", size))
		wantAbsent(t, filepath.Join(dir, "out3", "ck5"))
		noLeftovers(t, filepath.Join(dir, "out3"))
	})
	t.Run("checksum-file-malformed", func(t *testing.T) {
		write("BAD.sums", "# sums\n"+sha256hex(nil)+"  a\nthis is not a checksum line\n")
		r := mg(t, dir, "-d", "out4", "--json", "--checksum-file", "BAD.sums", u("ck6"))
		if r.code != 2 || !strings.Contains(r.stderr, "BAD.sums:3") {
			t.Fatalf("want exit 2 naming BAD.sums:3\n%s", r)
		}
		if n := s.Hits("ck6"); n != 0 {
			t.Errorf("server got %d requests after a usage error", n)
		}
	})
	t.Run("list-invalid-digest", func(t *testing.T) {
		write("l5.txt", u("ck7")+" sha256=xyz\n")
		r := mg(t, dir, "-d", "out5", "--json", "-i", "l5.txt")
		res := single(t, r)
		if r.code != 1 || res.Status != "invalid" || !strings.Contains(res.Error, "sha256") {
			t.Fatalf("want INVALID naming sha256\n%s", r)
		}
		if !strings.Contains(r.stderr, "INVALID") || !strings.Contains(r.stderr, "l5.txt:1") {
			t.Errorf("stderr lacks the INVALID line for l5.txt:1:\n%s", r.stderr)
		}
		if n := s.Hits("ck7"); n != 0 {
			t.Errorf("server got %d requests for an invalid entry", n)
		}
	})
}

// 13. A body shorter than announced is never reported ok or put under the
// final name when no retry is left.
func TestTruncatedNeverOK(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, at = 400000, 100000
	for _, route := range []string{"short", "chunked-trunc"} {
		t.Run(route, func(t *testing.T) {
			dir := t.TempDir()
			name := "trunc-" + route
			r := mg(t, dir, "-d", "out", "--json", "--retry", "0",
				s.URLFor(fmt.Sprintf("/%s/%d/1/%d/%s", route, at, size, name)))
			res := single(t, r)
			wantFailed(t, r, res, 1, "(curl 18)")
			if res.CurlCode != 18 {
				t.Errorf("curl_code %d, want 18", res.CurlCode)
			}
			wantAbsent(t, filepath.Join(dir, "out", name))
			if strings.Contains(r.stderr, "ok ") && !strings.Contains(r.stderr, "0 ok") {
				t.Errorf("something reported ok:\n%s", r.stderr)
			}
		})
	}
}

// 14. Property: a random mix of good, transient-then-good, permanently bad
// and invalid entries run at -j 4 gives exactly one result per entry, each
// of the expected class, every ok file byte-identical, and no .part left.
func TestMixedListProperty(t *testing.T) {
	t.Parallel()
	type kind struct {
		name     string
		route    func(name string, size int) string // "" base: a literal line
		status   string
		attempts int
	}
	kinds := []kind{
		{"ok", func(n string, sz int) string { return fmt.Sprintf("/ok/%d/%s", sz, n) }, "ok", 1},
		{"503k1", func(n string, sz int) string { return fmt.Sprintf("/status/503/1/%d/%s", sz, n) }, "ok", 2},
		{"rstk1", func(n string, sz int) string { return fmt.Sprintf("/rst/%d/1/%d/%s", sz/3, sz, n) }, "ok", 2},
		{"shortk1", func(n string, sz int) string { return fmt.Sprintf("/short/%d/1/%d/%s", sz/3, sz, n) }, "ok", 2},
		{"404", func(n string, sz int) string { return fmt.Sprintf("/status/404/1/%d/%s", sz, n) }, "failed", 1},
		{"503k99", func(n string, sz int) string { return fmt.Sprintf("/status/503/99/%d/%s", sz, n) }, "failed", 2},
		{"loop", func(n string, sz int) string { return "/loop/" + n }, "failed", 1},
		{"notaurl", nil, "invalid", 0},
		{"ftpbogus", nil, "invalid", 0},
	}
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(seed, 0x6d756c7469676574))
			type want struct {
				kind kind
				name string
				size int
			}
			wants := map[string]want{}
			var list strings.Builder
			for i := 1; i <= 30; i++ {
				k := kinds[rng.IntN(len(kinds))]
				name := fmt.Sprintf("s%de%d", seed, i)
				size := 1000 + rng.IntN(150000)
				switch k.name {
				case "notaurl":
					list.WriteString("notaurl\n")
				case "ftpbogus":
					list.WriteString("ftp://x/" + name + " bogus=1\n")
				default:
					list.WriteString(s.URLFor(k.route(name, size)) + "\n")
				}
				wants[fmt.Sprintf("list.txt:%d", i)] = want{k, name, size}
			}
			r := mgList(t, dir, list.String(), "-d", "out", "-j", "4", "--json", "--retry", "1", "--retry-delay", "5ms")
			got := bySource(t, r)
			if len(r.results) != 30 {
				t.Fatalf("%d results for 30 entries\n%s", len(r.results), r)
			}
			anyBad := false
			for src, w := range wants {
				res, ok := got[src]
				if !ok {
					t.Errorf("%s (%s): no result", src, w.kind.name)
					continue
				}
				if res.Status != w.kind.status || res.Attempts != w.kind.attempts {
					t.Errorf("%s (%s): status %q attempts %d, want %q after %d (error %q)",
						src, w.kind.name, res.Status, res.Attempts, w.kind.status, w.kind.attempts, res.Error)
				}
				if w.kind.status != "ok" {
					anyBad = true
					if w.kind.route != nil {
						wantAbsent(t, filepath.Join(dir, "out", w.name))
					}
					continue
				}
				wantFile(t, filepath.Join(dir, "out", w.name), testserver.Content(w.name, w.size))
			}
			if wantCode := map[bool]int{true: 1, false: 0}[anyBad]; r.code != wantCode {
				t.Errorf("exit %d, want %d", r.code, wantCode)
			}
			noLeftovers(t, dir)
		})
	}
}

// The reliability flags are checked before anything is downloaded: bad
// values and unreadable files are usage errors (exit 2).
func TestReliabilityFlagErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	u := s.URLFor("/ok/100/fe")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--retry", "-1"}, "cannot be negative"},
		{[]string{"--retry-delay", "-1s"}, "cannot be negative"},
		{[]string{"--stall-timeout", "-1s"}, "cannot be negative"},
		{[]string{"--max-redirs", "-1"}, "--max-redirs cannot be negative"},
		{[]string{"-H", "@missing-headers.txt"}, "--header @missing-headers.txt"},
		{[]string{"--checksum-file", "missing.sums"}, "missing.sums"},
	} {
		r := mg(t, dir, append(append([]string{"-d", "out"}, c.args...), u)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("want exit 2 saying %q\n%s", c.want, r)
		}
	}
	if n := s.Hits("fe"); n != 0 {
		t.Errorf("server got %d requests despite usage errors", n)
	}
	wantAbsent(t, filepath.Join(dir, "out"))
}

// wantRetriedFrom checks that NAME got exactly two requests, the second
// asking for the bytes from at on, and returns them.
func wantRetriedFrom(t *testing.T, s *testserver.Server, name string, at int) []testserver.RequestInfo {
	t.Helper()
	reqs := s.Requests(name)
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, want 2", len(reqs))
	}
	if want := fmt.Sprintf("bytes=%d-", at); reqs[1].Range != want {
		t.Errorf("retry Range %q, want %q", reqs[1].Range, want)
	}
	return reqs
}
