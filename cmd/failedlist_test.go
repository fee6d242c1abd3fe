package cmd_test

// --failed-list: the entries of a run that did not end ok, written as a
// list that -i reruns.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// flakyServer serves /f/NAME as "body of NAME", except that while broken
// every NAME starting with "bad" is a 404.
type flakyServer struct {
	*httptest.Server
	broken atomic.Bool
	hits   atomic.Int64
}

func startFlaky(t *testing.T) *flakyServer {
	t.Helper()
	s := &flakyServer{}
	s.broken.Store(true)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		name := strings.TrimPrefix(r.URL.Path, "/f/")
		if s.broken.Load() && strings.HasPrefix(name, "bad") || !strings.HasPrefix(r.URL.Path, "/f/") {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "body of %s\n", name)
	}))
	t.Cleanup(s.Close)
	return s
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFailedListRoundTrip(t *testing.T) {
	t.Parallel()
	s := startFlaky(t)
	dir := t.TempDir()
	u := s.URL + "/f/"
	sum := sha256hex([]byte("body of bad2\n"))
	list := u + "ok1\n" +
		u + "bad1\n" +
		u + "bad2 out=sub/two.txt sha256=" + sum + "\n" +
		"  mirror=" + u + "bad2-mirror\n" +
		"\n" +
		u + "ok2 out=sub/ok2.txt\n" +
		u + "bad3\t" + u + "bad3-m1\n" +
		u + "inv out=../up\n" +
		"  sha1=12\n" +
		u + "dup out=sub/ok2.txt\n" +
		"  out=orphan\n" + // under a URL line: a repeated key
		u + "dup2 out=sub/ok2.txt\n" // run again, it would take ok2's file
	r := mgList(t, dir, list, "-d", "out", "--retry", "0", "--failed-list", "failed.txt", u+"bad-arg")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	got := readFile(t, filepath.Join(dir, "failed.txt"))
	want := "# multiget --failed-list: the entries of a run that did not end ok; multiget -i FILE reruns them\n"
	entries := map[string]string{
		"arg:1":       "# arg:1: failed: HTTP 404 Not Found\n" + u + "bad-arg\n",
		"list.txt:2":  "# list.txt:2: failed: HTTP 404 Not Found\n" + u + "bad1\n",
		"list.txt:3":  "# list.txt:3: failed: HTTP 404 Not Found\n" + u + "bad2 out=sub/two.txt sha256=" + sum + " mirror=" + u + "bad2-mirror\n",
		"list.txt:7":  "# list.txt:7: failed: HTTP 404 Not Found\n" + u + "bad3 mirror=" + u + "bad3-m1\n",
		"list.txt:8":  "# list.txt:8: invalid: out=\"../up\" has a \"..\" component: give a path inside the output directory\n" + u + "inv out=../up\n  sha1=12\n",
		"list.txt:10": "# list.txt:10: invalid: line 11: option \"out\" given twice: keep one\n" + u + "dup out=sub/ok2.txt\n  out=orphan\n",
		"list.txt:12": "# list.txt:12: invalid: out/sub/ok2.txt is already the target of list.txt:6: give one of them out=OTHER/NAME\n# " + u + "dup2 out=sub/ok2.txt\n",
	}
	blocks := strings.Split(strings.TrimPrefix(got, want), "\n\n")
	if !strings.HasPrefix(got, want) || len(blocks) != len(entries) {
		t.Fatalf("failed.txt has %d entries, want %d:\n%s", len(blocks), len(entries), got)
	}
	for _, b := range blocks {
		b = strings.TrimPrefix(b, "\n")
		src := strings.SplitN(strings.TrimPrefix(b, "# "), ":", 3)
		key := src[0] + ":" + src[1]
		if w, ok := entries[key]; !ok || strings.TrimSuffix(b, "\n") != strings.TrimSuffix(w, "\n") {
			// The failure's wording is the engine's; the rest is ours.
			t.Errorf("failed.txt entry %s:\n%s\nwant:\n%s", key, b, w)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "failed.txt")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("failed.txt: %v, mode %v; want 0600 (it may hold passwords)", err, fi.Mode())
	}

	// The server now serves them: rerunning the failed list fetches
	// exactly those; only the invalid entries are left.
	s.broken.Store(false)
	before := s.hits.Load()
	r = mg(t, dir, "-d", "out", "--json", "--retry", "0", "-i", "failed.txt", "--failed-list", "failed.txt")
	statuses := map[string]int{}
	for _, res := range r.results {
		statuses[res.Status]++
	}
	if r.code != 1 || len(r.results) != 6 || statuses["ok"] != 4 || statuses["invalid"] != 2 {
		t.Errorf("the rerun: want 4 ok, 2 invalid, exit 1; got %v\n%s", statuses, r)
	}
	if n := s.hits.Load() - before; n != 4 {
		t.Errorf("the rerun made %d requests, want 4 (one per failed entry)", n)
	}
	for name, body := range map[string]string{"bad1": "bad1", "sub/two.txt": "bad2", "bad3": "bad3", "bad-arg": "bad-arg", "ok1": "ok1", "sub/ok2.txt": "ok2"} {
		wantFile(t, filepath.Join(dir, "out", name), []byte("body of "+body+"\n"))
	}
	wantAbsent(t, filepath.Join(dir, "up"), filepath.Join(dir, "out", "bad2-mirror"))
	got = readFile(t, filepath.Join(dir, "failed.txt"))
	if n := strings.Count(got, ": invalid: "); n != 2 || strings.Contains(got, ": failed: ") || !strings.Contains(got, "\n"+u+"inv out=../up\n  sha1=12\n") {
		t.Errorf("failed.txt after the rerun, want the two invalid entries alone:\n%s", got)
	}

	// Once those are fixed, nothing fails: the list is removed.
	fixed := strings.ReplaceAll(strings.ReplaceAll(got, "out=../up", "out=up"), "  out=orphan\n", "")
	fixed = strings.ReplaceAll(fixed, "  sha1=12\n", "")
	fixed = strings.ReplaceAll(fixed, "out=sub/ok2.txt", "out=dup.txt")
	if err := os.WriteFile(filepath.Join(dir, "failed.txt"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mg(t, dir, "-d", "out", "-i", "failed.txt", "--failed-list", "failed.txt")
	if r.code != 0 {
		t.Fatalf("the fixed list: want exit 0\n%s", r)
	}
	wantAbsent(t, filepath.Join(dir, "failed.txt"))
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".failed.txt.*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %q", leftovers)
	}
}

// Entries the run stops before (--fail-fast) are in the list: those read
// but not started and those never read.
func TestFailedListAfterFailFast(t *testing.T) {
	t.Parallel()
	s := startFlaky(t)
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "%s/f/bad0\n", s.URL)
	const n = 3000 // more than the reader holds before the run stops
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "%s/f/ok%d out=o/%d\n", s.URL, i, i)
	}
	r := mgList(t, dir, b.String(), "-d", "out", "-j", "1", "--retry", "0", "--fail-fast", "--failed-list", "failed.txt")
	if r.code != 1 || !strings.Contains(r.stderr, "--fail-fast") {
		t.Fatalf("want a --fail-fast stop:\n%s", r)
	}
	got := readFile(t, filepath.Join(dir, "failed.txt"))
	if !strings.Contains(got, "\n# list.txt:1: failed: HTTP 404") {
		t.Errorf("the failure is not in the list:\n%.500s", got)
	}
	done := 0
	for i := 1; i < n; i++ {
		line := fmt.Sprintf("\n%s/f/ok%d out=o/%d\n", s.URL, i, i)
		_, err := os.Stat(filepath.Join(dir, "out", "o", fmt.Sprint(i)))
		switch in := strings.Contains(got, line); {
		case err == nil && in:
			t.Errorf("entry %d was downloaded and is in the failed list", i)
		case err != nil && !in:
			t.Errorf("entry %d was neither downloaded nor put in the failed list", i)
		case err == nil:
			done++
		}
	}
	if !strings.Contains(got, "not started: the run stopped before it was read") {
		t.Errorf("no entry that was never read is in the list (%d of %d downloaded)", done, n-1)
	}
}

// With -v, the attempt lines still come: the list sits between the
// results' queue and the reporter, and passes them on.
func TestFailedListKeepsVerboseLines(t *testing.T) {
	t.Parallel()
	s := startFlaky(t)
	dir := t.TempDir()
	r := mg(t, dir, "-d", "out", "-v", "--retry", "0", "--failed-list", "failed.txt", s.URL+"/f/ok1", s.URL+"/f/bad1")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{", HTTP/1.1 200, ", ", HTTP/1.1 404, "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("-v with --failed-list: no attempt line with %q:\n%s", want, r.stderr)
		}
	}
	if got := readFile(t, filepath.Join(dir, "failed.txt")); !strings.Contains(got, "\n"+s.URL+"/f/bad1\n") || strings.Contains(got, "ok1") {
		t.Errorf("failed list:\n%s", got)
	}
}
