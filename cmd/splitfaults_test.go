package cmd_test

// Split downloads against servers and runs that go wrong: a redirect to
// another host, a kill -9 midway, a file that changed between runs, a
// server that ignores ranges, and the result a -c resumed split reports.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// splitMeta is NAME.part.meta of a split download.
type splitMeta struct {
	URL       string     `json:"url"`
	Validator string     `json:"validator"`
	Size      int64      `json:"size"`
	Segments  [][3]int64 `json:"segments"`
}

func (m splitMeta) done() int64 {
	var n int64
	for _, s := range m.Segments {
		n += s[2]
	}
	return n
}

// rangeOf parses "bytes=A-B" (B optional: -1).
func rangeOf(t *testing.T, h string) (int64, int64) {
	t.Helper()
	v, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		t.Fatalf("Range %q is not bytes=A-B", h)
	}
	a, b, _ := strings.Cut(v, "-")
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		t.Fatalf("Range %q: %v", h, err)
	}
	end := int64(-1)
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil {
			t.Fatalf("Range %q: %v", h, err)
		}
	}
	return start, end
}

// 4. The first request of a split download is redirected to another host
// (another port), which libcurl reaches without the Authorization and
// Cookie given with -H. The ranges, and the retry of a range that was cut,
// go to that host directly: they must not carry them either.
func TestSplitCrossHostRedirectKeepsCredentials(t *testing.T) {
	t.Parallel()
	first, other, _ := splitViaOtherHost(t, "xh", "-H", "Authorization: Bearer x", "-H", "Cookie: a=b")
	if len(first) != 1 || first[0].Authorization != "Bearer x" || first[0].Cookie != "a=b" {
		t.Fatalf("the first host did not get the token and cookie: %+v", first)
	}
	for _, rq := range other {
		if rq.Authorization != "" || rq.Cookie != "" {
			t.Errorf("request %d (Range %q) to the other host carried Authorization %q Cookie %q",
				rq.Hit, rq.Range, rq.Authorization, rq.Cookie)
		}
	}
}

// splitViaOtherHost downloads NAME0, a 3 MiB file whose first request is
// redirected to another server, as 4 ranges there (the first of them cut
// after 100000 bytes, so a range is retried too), with args. It checks the
// download and returns the requests each server got for it and the run.
func splitViaOtherHost(t *testing.T, name string, args ...string) (first, other []testserver.RequestInfo, r mgRun) {
	t.Helper()
	s, s2 := startServer(t), startServer(t)
	const size = 3 << 20
	dir := t.TempDir()
	to := s2.URLFor(fmt.Sprintf("/throttle-cut/4000000/100000/2/%d/%s", size, name))
	r = mg(t, dir, append([]string{"-d", "out", "--json", "--split", "4", "--min-split-size", "1M", "--retry-delay", "10ms",
		s.URLFor("/redirect/" + name + "0?to=" + url.QueryEscape(to))}, args...)...)
	res := single(t, r)
	if r.code != 0 || res.Status != "ok" {
		t.Fatalf("want ok\n%s", r)
	}
	other = s2.Requests(name)
	ranged := 0
	for _, rq := range other {
		if rq.Range != "" {
			ranged++
		}
	}
	if ranged < 5 {
		t.Errorf("the other host got %d range requests, want the 4 ranges and a retry: %+v", ranged, other)
	}
	if res.EffectiveURL != to {
		t.Errorf("effective_url %q, want %q", res.EffectiveURL, to)
	}
	wantFile(t, filepath.Join(dir, "out", name+"0"), testserver.Content(name, size))
	noLeftovers(t, dir)
	return s.Requests(name + "0"), other, r
}

// 6. kill -9 during a split download: the .meta must record what the
// ranges had written, so that -c fetches only the rest.
func TestSplitKill9ThenContinue(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 12 << 20
	dir := t.TempDir()
	name := "k9"
	u := s.URLFor(fmt.Sprintf("/throttle/1000000/%d/%s", size, name))
	part := filepath.Join(dir, "out", name+".part")
	args := []string{"-d", "out", "--json", "--split", "4", "--min-split-size", "1M", "--retry-delay", "10ms", u}

	var so, se bytes.Buffer
	cmd, done := startMG(t, dir, &so, &se, args...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(part + ".meta"); err == nil {
			var m splitMeta
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf(".meta is not whole JSON while being rewritten: %v\n%s", err, b)
			}
			if m.done() >= 2<<20 {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("multiget exited before the .meta recorded 2 MiB; stderr:\n%s", se.String())
		default:
		}
		if time.Now().After(deadline) {
			fi, _ := os.Stat(part)
			b, _ := os.ReadFile(part + ".meta")
			t.Fatalf("the .meta never recorded 2 MiB done while the ranges ran (.part %v):\n%s", fi, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, "SIGKILL", &se)
	b, err := os.ReadFile(part + ".meta")
	if err != nil {
		t.Fatal(err)
	}
	var m splitMeta
	if err := json.Unmarshal(b, &m); err != nil || m.Size != size || m.URL != u {
		t.Fatalf(".meta after kill -9: %v\n%s", err, b)
	}
	recorded := m.done()
	before := len(s.Requests(name))

	r := mg(t, dir, append([]string{"-c"}, args...)...)
	res := single(t, r)
	if r.code != 0 || res.Status != "ok" {
		t.Fatalf("want ok\n%s", r)
	}
	if res.Bytes != size-recorded {
		t.Errorf("the second run received %d bytes, want the %d not recorded (%d of %d were)", res.Bytes, size-recorded, recorded, size)
	}
	for _, rq := range s.Requests(name)[before:] {
		if rq.Range == "" {
			t.Errorf("the second run asked for the whole file")
			continue
		}
		a, z := rangeOf(t, rq.Range)
		for _, sg := range m.Segments {
			if d := sg[0] + sg[2]; a < d && z >= sg[0] {
				t.Errorf("the second run asked for %s again, though [%d, %d) was recorded done", rq.Range, sg[0], d)
			}
		}
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}

// 7. -c on a split download whose file changed since: the ranges get 200
// for the new version, and the entry starts over at once, without the
// backoff of a retry. With a 1 h backoff a restart that waited could not
// finish within the harness's 20 s limit; one that does not wait takes
// well under a second. A file that changes again fails by the retry rule.
func TestSplitContinueChangedRestartsAtOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 2 << 20
	seed := func(t *testing.T, out, name, u string) {
		t.Helper()
		m := splitMeta{URL: u, Validator: testserver.ETag(name, size, 0), Size: size,
			Segments: [][3]int64{{0, size / 2, 1000}, {size / 2, size, 1000}}}
		b, _ := json.Marshal(m)
		if err := os.MkdirAll(out, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".part"), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".part.meta"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	slow := []string{"--retry-delay", "1h", "--retry-max-delay", "1h"}

	t.Run("once", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		name := "chc"
		u := s.URLFor(fmt.Sprintf("/changing/%d/%s", size, name))
		seed(t, out, name, u)
		// The restart is not split (the file is below --min-split-size).
		r := mgTimeout(t, 20*time.Second, dir, append([]string{"-d", "out", "--json", "-c", "--split", "4",
			"--min-split-size", "3M", u}, slow...)...)
		res := single(t, r)
		// 2 ranges, then the whole file.
		wantOK(t, r, res, 3)
		// One request for the whole file (the restart), the others are
		// the ranges (one stopped by the restart may arrive after it).
		whole := 0
		for _, rq := range s.Requests(name) {
			switch {
			case rq.Range == "":
				if whole != 0 {
					t.Errorf("requests %d and %d asked for the whole file", whole, rq.Hit)
				}
				whole = rq.Hit
			case rq.IfRange != testserver.ETag(name, size, 0):
				t.Errorf("range request %d: If-Range %q", rq.Hit, rq.IfRange)
			}
		}
		wantFile(t, filepath.Join(out, name), testserver.ContentVersion(name, size, whole))
		noLeftovers(t, dir)
	})
	t.Run("twice", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		name := "chc2"
		u := s.URLFor(fmt.Sprintf("/changing-throttle/4000000/%d/%s", size, name))
		seed(t, out, name, u)
		// The restart is split again, and its ranges find yet another
		// version: that second restart would spend a retry, and with
		// --retry 0 there is none, so the entry fails at once.
		r := mgTimeout(t, 20*time.Second, dir, append([]string{"-d", "out", "--json", "-c", "--split", "4",
			"--min-split-size", "1M", "--retry", "0", u}, slow...)...)
		res := single(t, r)
		if r.code != 1 || res.Status != "failed" || !strings.Contains(res.Error, "changed") || !strings.Contains(res.Error, "gave up after 2 attempts") {
			t.Fatalf("want a failure saying the file changed\n%s", r)
		}
		wantAbsent(t, filepath.Join(out, name))
		noLeftovers(t, dir)
	})
}

// 8. A server that says Accept-Ranges and answers every range with 200 and
// the same validator does not honour ranges: the file is fetched whole on
// one connection instead of failing as if it had changed.
func TestSplitRangesIgnoredFallsBackToWhole(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	body := testserver.Content("ign", size)
	s := startServer(t)
	// About 16 MB/s: the first transfer is still running when the split
	// is decided.
	u := s.URLFor(fmt.Sprintf("/ranges-ignored/16000000/0/0/%d/ign", size))
	dir := t.TempDir()
	r := mg(t, dir, "-d", "out", "--json", "--split", "4", "--min-split-size", "1M", "--retry", "3",
		"--retry-delay", "10ms", u)
	res := single(t, r)
	// The first transfer, the 4 ranges, the whole file.
	wantOK(t, r, res, 6)
	var got []string
	for _, rq := range s.Requests("ign") {
		got = append(got, rq.Range)
	}
	ranged := 0
	for _, g := range got {
		if g != "" {
			ranged++
		}
	}
	// (A range stopped by the fallback may reach the server after it.)
	if ranged < 1 || ranged > 4 || got[0] != "" || len(got) != ranged+2 {
		t.Errorf("requests' Range headers %q: want the first transfer, one round of at most 4 ranges, and the whole file", got)
	}
	wantFile(t, filepath.Join(dir, "out", "ign"), body)
	noLeftovers(t, dir)
}

// 14. A -c resumed split download reports the URL its ranges came from
// (after the entry's redirect), and attempts counts its own transfers,
// as in a fresh run: one per range it ran. No credential given with -H
// reaches the other host in either run.
func TestSplitContinueResult(t *testing.T) {
	t.Parallel()
	s, s2 := startServer(t), startServer(t)
	const size = 8 << 20
	dir := t.TempDir()
	name := "cr"
	to := s2.URLFor(fmt.Sprintf("/throttle/2000000/%d/%s", size, name))
	u := s.URLFor("/redirect/" + name + "?to=" + url.QueryEscape(to))
	part := filepath.Join(dir, "out", name+".part")
	args := []string{"-d", "out", "--json", "--split", "4", "--min-split-size", "1M", "--retry-delay", "10ms",
		"-H", "Authorization: Bearer x", u}

	var so, se bytes.Buffer
	cmd, done := startMG(t, dir, &so, &se, args...)
	// The probe and the 4 ranges have reached the second host, and the
	// ranges have written something.
	deadline := time.Now().Add(20 * time.Second)
	for len(s2.Requests(name)) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the ranges never started; stderr:\n%s", se.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitPart(t, part, done, &se)
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitExit(t, done, "SIGINT", &se)
	b, err := os.ReadFile(part + ".meta")
	var m splitMeta
	if err != nil || json.Unmarshal(b, &m) != nil || len(m.Segments) == 0 {
		t.Fatalf("no split .meta after SIGINT: %v\n%s\nstderr:\n%s", err, b, se.String())
	}
	before := len(s2.Requests(name))

	r := mg(t, dir, append([]string{"-c"}, args...)...)
	res := single(t, r)
	if r.code != 0 || res.Status != "ok" {
		t.Fatalf("want ok\n%s", r)
	}
	if res.EffectiveURL != to {
		t.Errorf("resumed split: effective_url %q, want %q", res.EffectiveURL, to)
	}
	if n := len(s2.Requests(name)) - before; res.Attempts != n {
		t.Errorf("resumed split: attempts %d, but it made %d transfers", res.Attempts, n)
	}
	if res.HTTPCode != 206 {
		t.Errorf("resumed split: http_code %d, want 206", res.HTTPCode)
	}
	for _, rq := range s2.Requests(name) {
		if rq.Authorization != "" {
			t.Errorf("request %d (Range %q) to the other host carried Authorization %q", rq.Hit, rq.Range, rq.Authorization)
		}
	}
	wantFile(t, filepath.Join(dir, "out", name), testserver.Content(name, size))
	noLeftovers(t, dir)
}
