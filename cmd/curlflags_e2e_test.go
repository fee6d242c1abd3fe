package cmd_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// -u's credentials go to the entry's host only: the first request of a
// split download is redirected to another host (another port), which
// libcurl reaches without them, and the ranges and the retry of a cut
// range, sent to that host directly, must not carry them either. With -v
// each range attempt has its line, the cut one with its retry.
func TestUserKeptToTheEntrysHostWithSplitRanges(t *testing.T) {
	t.Parallel()
	first, other, r := splitViaOtherHost(t, "uh", "-v", "-u", "mg:s3cret")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("mg:s3cret"))
	if len(first) != 1 || first[0].Authorization != basic {
		t.Fatalf("the first host did not get the credentials: %+v", first)
	}
	for _, rq := range other {
		if rq.Authorization != "" {
			t.Errorf("request %d (Range %q) to the other host carried Authorization %q", rq.Hit, rq.Range, rq.Authorization)
		}
	}
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
	if strings.Contains(r.stdout+r.stderr, "s3cret") {
		t.Errorf("the password shows in the output:\n%s", r)
	}
}
