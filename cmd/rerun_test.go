package cmd_test

// Rerunning a finished -c job: a saved file that is whole costs one request
// and no body (or none at all when the entry has a checksum), and one that
// is not the server's file is fetched whole, never appended to.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// saveAs writes content to dir/out/name, as an earlier run would have.
func saveAs(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, "out", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContinueRerunOfWholeFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 200000
	dir := t.TempDir()
	name := "whole"
	u := s.URLFor(fmt.Sprintf("/ok/%d/%s", size, name))
	r := mg(t, dir, "-d", "out", "--json", u)
	wantOK(t, r, single(t, r), 1)
	p := filepath.Join(dir, "out", name)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}

	r = mg(t, dir, "-d", "out", "--json", "-c", u)
	res := single(t, r)
	if r.code != 0 || res.Status != "skipped" || !strings.Contains(res.Error, "already complete") || res.Bytes != 0 {
		t.Fatalf("a rerun of a whole file: want skipped, already complete, 0 bytes, exit 0; got %+v\n%s", res, r)
	}
	reqs := s.Requests(name)
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests over both runs, want 2 (the download, then one probe)", len(reqs))
	}
	if want := fmt.Sprintf("bytes=%d-", size); reqs[1].Range != want || reqs[1].IfRange != "" {
		t.Errorf("the rerun sent Range %q If-Range %q, want %q and none", reqs[1].Range, reqs[1].IfRange, want)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the saved file was replaced or touched; it must be left as it was")
	}
	wantFile(t, p, testserver.Content(name, size))
	noLeftovers(t, dir)
	if !strings.Contains(r.stderr, "0 failed, 1 skipped") {
		t.Errorf("summary should count the entry skipped:\n%s", r.stderr)
	}
}

// The saved file is not the server's: shorter (the server's is longer, and
// the saved bytes are no prefix of it) or longer. Either is fetched whole,
// with one free restart and no backoff.
func TestContinueRerunOfChangedFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 150000
	for _, saved := range []int{size / 3, size + 1000} {
		t.Run(fmt.Sprint(saved), func(t *testing.T) {
			dir := t.TempDir()
			name := fmt.Sprintf("changed%d", saved)
			u := s.URLFor(fmt.Sprintf("/ok/%d/%s", size, name))
			p := saveAs(t, dir, name, bytes.Repeat([]byte{'X'}, saved))
			r := mg(t, dir, "-d", "out", "--json", "-c", "--retry", "0", "--retry-delay", "30s", u)
			wantOK(t, r, single(t, r), 2)
			reqs := s.Requests(name)
			if len(reqs) != 2 || reqs[0].Range != fmt.Sprintf("bytes=%d-", saved) || reqs[1].Range != "" {
				t.Fatalf("want a probe past the saved %d bytes, then a whole request; got %+v", saved, reqs)
			}
			wantFile(t, p, testserver.Content(name, size))
			noLeftovers(t, dir)
		})
	}
}

// A server that ignores ranges answers the probe with the whole file: one
// request, and the file is replaced by what it sent.
func TestContinueRerunServerIgnoresRange(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 120000
	dir := t.TempDir()
	name := "rerun-norange"
	u := s.URLFor(fmt.Sprintf("/norange/%d/%s", size, name))
	p := saveAs(t, dir, name, bytes.Repeat([]byte{'X'}, size))
	r := mg(t, dir, "-d", "out", "--json", "-c", u)
	wantOK(t, r, single(t, r), 1)
	if n := len(s.Requests(name)); n != 1 {
		t.Fatalf("server got %d requests, want 1", n)
	}
	wantFile(t, p, testserver.Content(name, size))
}

// With a checksum on the entry, the saved file is hashed: a match makes no
// request at all; a mismatch fetches the file.
func TestContinueRerunWithChecksum(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const size = 100000
	dir := t.TempDir()
	var list strings.Builder
	for i, content := range [][]byte{nil, bytes.Repeat([]byte{'X'}, size)} {
		name := fmt.Sprintf("sum%d", i)
		want := testserver.Content(name, size)
		if content == nil {
			content = want
		}
		saveAs(t, dir, name, content)
		sum := sha256.Sum256(want)
		fmt.Fprintf(&list, "%s sha256=%s\n", s.URLFor(fmt.Sprintf("/ok/%d/%s", size, name)), hex.EncodeToString(sum[:]))
	}
	r := mgList(t, dir, list.String(), "-d", "out", "--json", "-c")
	got := bySource(t, r)
	if a := got["list.txt:1"]; a.Status != "skipped" || !strings.Contains(a.Error, "checksums match") || a.Checksums["sha256"] == "" {
		t.Errorf("matching file: want skipped (checksums match) with its sha256, got %+v", a)
	}
	if n := len(s.Requests("sum0")); n != 0 {
		t.Errorf("matching file: server got %d requests, want none", n)
	}
	if b := got["list.txt:2"]; b.Status != "ok" || b.Attempts != 1 || b.Checksums["sha256"] == "" {
		t.Errorf("mismatching file: want ok after 1 attempt, verified; got %+v", b)
	}
	if r.code != 0 {
		t.Errorf("exit %d, want 0\n%s", r.code, r)
	}
	wantFile(t, filepath.Join(dir, "out", "sum1"), testserver.Content("sum1", size))
	noLeftovers(t, dir)
}

// A probe answered with the whole file (a 200: the server ignored the
// range) that is cut midway is continued as any download: the retry asks
// for the rest of what came, not for what lies past the saved file.
// Likewise a -N condition answered with a cut 200 is not sent again.
func TestRerunCutAnswerContinues(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes
	for _, flag := range []string{"-c", "-N"} {
		t.Run(flag, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("range=%q inm=%q ims=%q", r.Header.Get("Range"), r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")))
				first := len(seen) == 1
				mu.Unlock()
				w.Header().Set("ETag", `"big-v1"`)
				w.Header().Set("Accept-Ranges", "bytes")
				if first {
					w.Header().Set("Content-Length", strconv.Itoa(len(data)))
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write(data[:len(data)/2])
					w.(http.Flusher).Flush()
					panic(http.ErrAbortHandler) // the connection is cut
				}
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
			}))
			defer srv.Close()
			dir := t.TempDir()
			p := saveAs(t, dir, "big", []byte("an older, shorter file"))
			r := mg(t, dir, "-d", "out", "--json", flag, "--retry-delay", "10ms", srv.URL+"/big")
			res := single(t, r)
			if r.code != 0 || res.Status != "ok" {
				t.Fatalf("want ok, got %+v\n%s", res, r)
			}
			wantFile(t, p, data)
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 2 || !strings.Contains(seen[1], fmt.Sprintf(`range="bytes=%d-" inm="" ims=""`, len(data)/2)) {
				t.Fatalf("want the retry to continue the cut body, with no probe range or condition; requests:\n%s", strings.Join(seen, "\n"))
			}
		})
	}
}
