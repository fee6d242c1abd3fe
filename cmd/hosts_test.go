package cmd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/multiget/multiget/internal/testserver"
)

// A host that answered 429 gets its line after the summary on stderr and,
// with --json, its record after every entry's object on stdout.
func TestThrottledHostReported(t *testing.T) {
	t.Parallel()
	const n, size = 8, 500
	s := newFaultServer(t, func(w http.ResponseWriter, r *http.Request, name string, hit int) int {
		if name == "e0" && hit == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return http.StatusTooManyRequests
		}
		return serveBody(w, r, testserver.Content(name, size), bodyOpts{})
	})
	var list strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&list, "%s/ra/e%d\n", s.URL, i)
	}
	r := mgList(t, t.TempDir(), list.String(), "-d", "out", "--json", "-j", "4", "--retry-delay", "1ms")
	if r.code != 0 || len(r.results) != n {
		t.Fatalf("want %d ok results\n%s", n, r)
	}
	line := regexp.MustCompile(`(?m)^multiget: host http://127\.0\.0\.1:\d+ throttled: \d+ -> \d+ at once, paused \d[.\d]*s \(1 x 429\)$`)
	if !line.MatchString(r.stderr) {
		t.Errorf("no host line after the summary\n%s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["record"] != "host" || rec["status_429"] != 1.0 || rec["paused_ms"].(float64) < 1000 {
		t.Errorf("last --json line %v, want the host's record: one 429, paused >= 1s", rec)
	}
}
