package cmd_test

// Resuming across runs with -c: what an exhausted or interrupted run keeps
// (NAME.part and NAME.part.meta), and how the next run continues it — or
// starts over when the server will not serve a range.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

type partMeta struct {
	URL       string `json:"url"`
	Validator string `json:"validator"`
}

func readMeta(t *testing.T, path string) partMeta {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var m partMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not the expected JSON: %v\n%s", path, err, b)
	}
	return m
}

// 6. -c against a server that ignores Range: the resume is asked for (Range
// and If-Range sent), the whole file comes back as 200, and the result is
// the file alone — the stale .part prefix is not kept in front of it.
func TestContinueServerIgnoresRange(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, kept = 300000, 5000
	dir := t.TempDir()
	name := "norange"
	u := s.URLFor(fmt.Sprintf("/norange/%d/%s", size, name))
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o777); err != nil {
		t.Fatal(err)
	}
	// A prefix that is not the file's: kept in front, it would show.
	if err := os.WriteFile(filepath.Join(out, name+".part"), bytes.Repeat([]byte{'X'}, kept), 0o644); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(partMeta{URL: u, Validator: testserver.ETag(name, size, 0)})
	if err := os.WriteFile(filepath.Join(out, name+".part.meta"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mg(t, dir, "-d", "out", "--json", "-c", "--retry-delay", "10ms", u)
	wantOK(t, r, single(t, r), 1)
	reqs := s.Requests(name)
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	if want := fmt.Sprintf("bytes=%d-", kept); reqs[0].Range != want || reqs[0].IfRange != testserver.ETag(name, size, 0) {
		t.Errorf("-c sent Range %q If-Range %q, want %q and the ETag from .meta", reqs[0].Range, reqs[0].IfRange, want)
	}
	wantFile(t, filepath.Join(out, name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// 7. A run that exhausts its retries keeps NAME.part (exactly the bytes
// received) and NAME.part.meta; the next run with -c asks for the rest
// only and completes the file.
func TestContinueAfterExhaustedRetries(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, at = 1000000, 300000
	dir := t.TempDir()
	name := "exhaust"
	u := s.URLFor(fmt.Sprintf("/rst/%d/2/%d/%s", at, size, name))
	part := filepath.Join(dir, "out", name+".part")

	r := mg(t, dir, "-d", "out", "--json", "--retry", "1", "--retry-delay", "10ms", u)
	res := single(t, r)
	wantFailed(t, r, res, 2, "gave up after 2 attempts")
	wantAbsent(t, filepath.Join(dir, "out", name))
	// Hit 1 delivered bytes [0, at), hit 2 (Range at-) [at, 2*at).
	wantFile(t, part, testserver.Content(name, 2*at))
	if m := readMeta(t, part+".meta"); m.URL != u || m.Validator != testserver.ETag(name, size, 0) {
		t.Errorf(".meta %+v, want url %s and validator %s", m, u, testserver.ETag(name, size, 0))
	}

	r = mg(t, dir, "-d", "out", "--json", "-c", "--retry", "1", "--retry-delay", "10ms", u)
	res = single(t, r)
	wantOK(t, r, res, 1)
	if res.Bytes != size-2*at {
		t.Errorf("second run received %d bytes, want only the missing %d", res.Bytes, size-2*at)
	}
	reqs := s.Requests(name)
	if len(reqs) != 3 {
		t.Fatalf("server got %d requests over both runs, want 3", len(reqs))
	}
	if want := fmt.Sprintf("bytes=%d-", at); reqs[1].Range != want {
		t.Errorf("run 1 retry Range %q, want %q", reqs[1].Range, want)
	}
	if want := fmt.Sprintf("bytes=%d-", 2*at); reqs[2].Range != want || reqs[2].IfRange != testserver.ETag(name, size, 0) {
		t.Errorf("-c request Range %q If-Range %q, want %q and the ETag", reqs[2].Range, reqs[2].IfRange, want)
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// startMG starts the built binary; the returned channel yields once it
// has exited.
func startMG(t *testing.T, dir string, stdout, stderr *bytes.Buffer, args ...string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "multiget"), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, done
}

// waitPart polls until path exists with more than 0 bytes.
func waitPart(t *testing.T, path string, done <-chan struct{}, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
		select {
		case <-done:
			t.Fatalf("multiget exited before %s had data; stderr:\n%s", path, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never got data; stderr:\n%s", path, stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitExit(t *testing.T, done <-chan struct{}, what string, stderr *bytes.Buffer) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("multiget did not exit after %s; stderr:\n%s", what, stderr)
	}
}

// 8. SIGINT mid-body: death by SIGINT, NAME.part and .meta kept; the same command
// with -c continues from exactly the kept size and completes the file.
func TestInterruptThenContinue(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 8000000
	dir := t.TempDir()
	name := "sigc"
	u := s.URLFor(fmt.Sprintf("/throttle/2000000/%d/%s", size, name))
	part := filepath.Join(dir, "out", name+".part")
	args := []string{"-d", "out", "--json", "--retry-delay", "10ms", u}

	var so, se bytes.Buffer
	cmd, done := startMG(t, dir, &so, &se, args...)
	waitPart(t, part, done, &se)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, "SIGINT", &se)
	if !diedOf(cmd.ProcessState, os.Interrupt) {
		t.Fatalf("%v after SIGINT, want death by SIGINT\nstderr:\n%s", cmd.ProcessState, se.String())
	}
	res := parseJSONLines(t, so.String())
	if len(res) != 1 || res[0].Status != "interrupted" || !strings.Contains(res[0].Error, "interrupted") {
		t.Errorf("want one interrupted result saying so, got %+v", res)
	}
	wantAbsent(t, filepath.Join(dir, "out", name))
	fi, err := os.Stat(part)
	if err != nil {
		t.Fatalf("the .part was not kept: %v", err)
	}
	keptSize := fi.Size()
	if keptSize <= 0 || keptSize >= size {
		t.Fatalf("kept .part has %d bytes, want 0 < n < %d", keptSize, size)
	}
	wantFile(t, part, testserver.Content(name, int(keptSize)))
	if m := readMeta(t, part+".meta"); m.URL != u || m.Validator != testserver.ETag(name, size, 0) {
		t.Errorf(".meta %+v, want url %s and validator %s", m, u, testserver.ETag(name, size, 0))
	}
	if res := parseJSONLines(t, so.String()); len(res) == 1 && !strings.Contains(res[0].Error, fmt.Sprint(keptSize)) {
		t.Errorf("the result does not say how many bytes were kept (%d): %q", keptSize, res[0].Error)
	}

	r := mg(t, dir, append([]string{"-c"}, args...)...)
	wantOK(t, r, single(t, r), 1)
	reqs := s.Requests(name)
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests over both runs, want 2", len(reqs))
	}
	if want := fmt.Sprintf("bytes=%d-", keptSize); reqs[1].Range != want || reqs[1].IfRange != testserver.ETag(name, size, 0) {
		t.Errorf("-c request Range %q If-Range %q, want %q and the ETag", reqs[1].Range, reqs[1].IfRange, want)
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// 8b. A second SIGINT right after the first ends the process (at once, or
// through the first one's orderly shutdown); no final file appears.
func TestDoubleInterrupt(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	name := "sig2"
	var so, se bytes.Buffer
	cmd, done := startMG(t, dir, &so, &se, "-d", "out", "--retry-delay", "10ms",
		s.URLFor("/throttle/200000/8000000/"+name))
	waitPart(t, filepath.Join(dir, "out", name+".part"), done, &se)
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Process.Signal(os.Interrupt)
	waitExit(t, done, "two SIGINTs", &se)
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	t.Logf("after two SIGINTs: exit %d, signaled %v", cmd.ProcessState.ExitCode(), ws.Signaled())
	wantAbsent(t, filepath.Join(dir, "out", name))
}

// seedPart writes out/NAME.part with data and, when m is non-nil,
// out/NAME.part.meta with m.
func seedPart(t *testing.T, out, name string, data []byte, m *partMeta) {
	t.Helper()
	if err := os.MkdirAll(out, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, name+".part"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if m != nil {
		b, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(out, name+".part.meta"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// -c only trusts a .part its .meta vouches for, for this URL and version;
// otherwise the download starts over and the result is never a splice.
func TestContinueTrust(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, kept = 200000, 70000
	junk := bytes.Repeat([]byte{'J'}, kept)
	cases := []struct {
		name     string
		route    string
		part     []byte
		meta     func(u, name string) *partMeta
		retry    string
		wantRng  string // Range of the first request
		want     func(name string) []byte
		requests int
	}{
		// No .meta: the .part is not trusted, no Range is sent.
		{"nometa", "/ok/%d/%s", junk, func(u, n string) *partMeta { return nil }, "3", "",
			func(n string) []byte { return testserver.Content(n, size) }, 1},
		// A .meta for another URL: not trusted either.
		{"otherurl", "/ok/%d/%s", junk, func(u, n string) *partMeta {
			return &partMeta{URL: u + "?other", Validator: testserver.ETag(n, size, 0)}
		}, "3", "", func(n string) []byte { return testserver.Content(n, size) }, 1},
		// The file changed since: If-Range with the old ETag gets the new
		// version whole, and exactly that is saved.
		{"changed", "/changing/%d/%s", testserver.ContentVersion("changed", size, 0)[:kept], func(u, n string) *partMeta {
			return &partMeta{URL: u, Validator: testserver.ETag(n, size, 0)}
		}, "3", fmt.Sprintf("bytes=%d-", kept), func(n string) []byte { return testserver.ContentVersion(n, size, 1) }, 1},
		// The .part is already whole: 416 with the same total completes it.
		{"whole", "/ok/%d/%s", testserver.Content("whole", size), func(u, n string) *partMeta {
			return &partMeta{URL: u, Validator: testserver.ETag(n, size, 0)}
		}, "3", fmt.Sprintf("bytes=%d-", size), func(n string) []byte { return testserver.Content(n, size) }, 1},
		// A right prefix resumes: one request for the rest.
		{"prefix", "/ok/%d/%s", testserver.Content("prefix", kept), func(u, n string) *partMeta {
			return &partMeta{URL: u, Validator: testserver.ETag(n, size, 0)}
		}, "3", fmt.Sprintf("bytes=%d-", kept), func(n string) []byte { return testserver.Content(n, size) }, 1},
		// A .part longer than the file (it shrank): 416 with another
		// total, so the download starts over.
		{"toolong", "/ok/%d/%s", bytes.Repeat([]byte{'L'}, size+10), func(u, n string) *partMeta {
			return &partMeta{URL: u, Validator: testserver.ETag(n, size, 0)}
		}, "3", fmt.Sprintf("bytes=%d-", size+10), func(n string) []byte { return testserver.Content(n, size) }, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			u := s.URLFor(fmt.Sprintf(c.route, size, c.name))
			seedPart(t, out, c.name, c.part, c.meta(u, c.name))
			r := mg(t, dir, "-d", "out", "--json", "-c", "--retry", c.retry, "--retry-delay", "10ms", u)
			res := single(t, r)
			if r.code != 0 || res.Status != "ok" {
				t.Fatalf("want ok\n%s", r)
			}
			reqs := s.Requests(c.name)
			if len(reqs) != c.requests {
				t.Fatalf("server got %d requests, want %d: %+v", len(reqs), c.requests, reqs)
			}
			if reqs[0].Range != c.wantRng {
				t.Errorf("first request Range %q, want %q", reqs[0].Range, c.wantRng)
			}
			if len(reqs) > 1 && reqs[1].Range != "" {
				t.Errorf("the restart still asked for Range %q", reqs[1].Range)
			}
			wantFile(t, filepath.Join(out, c.name), c.want(c.name))
			noLeftovers(t, dir)
		})
	}
}

// A restart forced by a stale .part is not a transient failure: even with
// --retry 0 the entry must still be downloaded whole.
func TestContinueStalePartRetry0(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 20000
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	name := "stale0"
	u := s.URLFor(fmt.Sprintf("/ok/%d/%s", size, name))
	seedPart(t, out, name, bytes.Repeat([]byte{'L'}, size+10), &partMeta{URL: u, Validator: testserver.ETag(name, size, 0)})
	r := mg(t, dir, "-d", "out", "--json", "-c", "--retry", "0", u)
	res := single(t, r)
	if r.code != 0 || res.Status != "ok" {
		t.Fatalf("-c --retry 0 with a .part longer than the remote file must start over once without "+
			"spending a retry: %q\n%s", res.Error, r)
	}
	wantFile(t, filepath.Join(out, name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// SIGINT while an entry waits for its retry backoff: the bytes of the cut
// attempt are kept with their .meta, and -c continues from there.
func TestInterruptDuringBackoff(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, at = 600000, 200000
	dir := t.TempDir()
	name := "backoff"
	u := s.URLFor(fmt.Sprintf("/rst/%d/1/%d/%s", at, size, name))
	part := filepath.Join(dir, "out", name+".part")
	var so, se bytes.Buffer
	// A one-minute backoff: the interrupt surely comes while it waits.
	cmd, done := startMG(t, dir, &so, &se, "-d", "out", "--json", "--retry-delay", "60s", "--retry-max-delay", "60s", u)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(part); err == nil && fi.Size() == at && s.Hits(name) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first attempt never ended with %d bytes kept; stderr:\n%s", at, se.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, "SIGINT", &se)
	if !diedOf(cmd.ProcessState, os.Interrupt) {
		t.Fatalf("%v, want death by SIGINT; stderr:\n%s", cmd.ProcessState, se.String())
	}
	if n := s.Hits(name); n != 1 {
		t.Errorf("server got %d requests, want 1 (the retry never started)", n)
	}
	res := parseJSONLines(t, so.String())
	if len(res) != 1 || res[0].Status != "interrupted" || res[0].Attempts != 1 {
		t.Errorf("want one interrupted result after 1 attempt, got %+v", res)
	}
	wantFile(t, part, testserver.Content(name, at))
	if m := readMeta(t, part+".meta"); m.URL != u || m.Validator != testserver.ETag(name, size, 0) {
		t.Errorf(".meta %+v", m)
	}
	r := mg(t, dir, "-d", "out", "--json", "-c", "--retry-delay", "10ms", u)
	wantOK(t, r, single(t, r), 1)
	if q := s.Requests(name); len(q) != 2 || q[1].Range != fmt.Sprintf("bytes=%d-", at) {
		t.Errorf("requests %+v, want a second one with Range bytes=%d-", q, at)
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// A checksum covers the whole file, the resumed prefix included: a .part
// whose kept bytes are wrong (though its .meta vouches for them) ends in a
// mismatch, and neither the file nor the bad .part survives.
func TestContinueChecksumCoversPrefix(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size, kept = 100000, 30000
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	sum := sha256hex(testserver.Content("ckp", size))
	ok := s.URLFor(fmt.Sprintf("/ok/%d/ckp", size))
	seedPart(t, out, "ckp", bytes.Repeat([]byte{'W'}, kept), &partMeta{URL: ok, Validator: testserver.ETag("ckp", size, 0)})
	if err := os.WriteFile(filepath.Join(dir, "l.txt"), []byte(ok+" sha256="+sum+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mg(t, dir, "-d", "out", "--json", "-c", "-i", "l.txt")
	wantFailed(t, r, single(t, r), 1, "sha256 mismatch")
	if q := s.Requests("ckp"); len(q) != 1 || q[0].Range != fmt.Sprintf("bytes=%d-", kept) {
		t.Errorf("requests %+v, want one resuming at %d", q, kept)
	}
	if files := regularFiles(t, out); len(files) != 0 {
		t.Errorf("files left after a mismatch: %v", files)
	}
	// The next run starts clean and succeeds.
	r = mg(t, dir, "-d", "out", "--json", "-c", "-i", "l.txt")
	res := single(t, r)
	wantOK(t, r, res, 1)
	if res.Checksums["sha256"] != sum {
		t.Errorf("checksums %v", res.Checksums)
	}
	wantFile(t, filepath.Join(out, "ckp"), testserver.Content("ckp", size))
}
