package cmd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multiget/multiget/internal/testserver"
)

// --split fetches one large file as several ranges and the result is the
// file byte for byte, counted as one entry.
func TestSplitEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 3 << 20
	dir := t.TempDir()
	u := s.URLFor(fmt.Sprintf("/throttle/4000000/%d/big", size))
	small := s.URLFor("/ok/1000/small")
	r := mg(t, dir, "-d", "out", "--json", "--split", "4", "--min-split-size", "1M", u, small)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	res := bySource(t, r)
	if got := res["arg:1"]; got.Status != "ok" || got.Attempts != 5 || got.Bytes != size {
		t.Errorf("split entry: %+v", got)
	}
	if got := res["arg:2"]; got.Status != "ok" || got.Attempts != 1 {
		t.Errorf("small entry: %+v", got)
	}
	if !strings.Contains(r.stderr, "multiget: 2 ok,") {
		t.Errorf("summary must count the split file once:\n%s", r.stderr)
	}
	wantFile(t, filepath.Join(dir, "out", "big"), testserver.Content("big", size))
	noLeftovers(t, dir)
}

func TestSplitFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--split", "0", "http://127.0.0.1:9/x"},
		{"--split", "65", "http://127.0.0.1:9/x"},
		{"--min-split-size", "lots", "http://127.0.0.1:9/x"},
	} {
		r := mg(t, dir, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "multiget: error:") {
			t.Errorf("%s", r)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a usage error downloaded something")
	}
}
