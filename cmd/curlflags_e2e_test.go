package cmd_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/multiget/multiget/internal/testserver"
)

// -u's credentials go to the entry's host only: the first request of a
// split download is redirected to another host (another port), which
// libcurl reaches without them, and the ranges and the retry of a cut
// range, sent to that host directly, must not carry them either. With -v
// each range attempt has its line, the cut one with its retry.
func TestUserKeptToTheEntrysHostWithSplitRanges(t *testing.T) {
	t.Parallel()
	s, s2 := startServer(t), startServer(t)
	const size = 3 << 20
	dir := t.TempDir()
	// Hit 2 of "uh" (the first range after the probe) is reset after
	// 100000 bytes, so a range is retried too.
	to := s2.URLFor(fmt.Sprintf("/throttle-cut/4000000/100000/2/%d/uh", size))
	r := mg(t, dir, "-v", "-d", "out", "--json", "--split", "4", "--min-split-size", "1M", "--retry-delay", "10ms",
		"-u", "mg:s3cret", s.URLFor("/redirect/uh0?to="+url.QueryEscape(to)))
	res := single(t, r)
	if r.code != 0 || res.Status != "ok" {
		t.Fatalf("want ok\n%s", r)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("mg:s3cret"))
	if q := s.Requests("uh0"); len(q) != 1 || q[0].Authorization != basic {
		t.Fatalf("the first host did not get the credentials: %+v", q)
	}
	ranged := 0
	for _, rq := range s2.Requests("uh") {
		if rq.Range != "" {
			ranged++
		}
		if rq.Authorization != "" {
			t.Errorf("request %d (Range %q) to the other host carried Authorization %q", rq.Hit, rq.Range, rq.Authorization)
		}
	}
	if ranged < 5 {
		t.Errorf("the other host got %d range requests, want the 4 ranges and a retry", ranged)
	}
	wantFile(t, filepath.Join(dir, "out", "uh0"), testserver.Content("uh", size))
	noLeftovers(t, dir)
	// One line per range attempt (the retried one twice), and the cut one
	// says it is retried; the password shows nowhere.
	lines := regexp.MustCompile(`(?m)^multiget: arg:1 attempt \d+ \S+/uh range \d+-\d+: .*: (ok|retry in \S+: .*)$`).FindAllStringSubmatch(r.stderr, -1)
	retries := 0
	for _, l := range lines {
		if l[1] != "ok" {
			retries++
		}
	}
	if len(lines) < 5 || retries < 1 {
		t.Errorf("-v showed %d range attempts (%d retried), want at least 5 (1 retried):\n%s", len(lines), retries, r.stderr)
	}
	if regexp.MustCompile("s3cret").MatchString(r.stdout + r.stderr) {
		t.Errorf("the password shows in the output:\n%s", r)
	}
}
