package cmd_test

// -N reruns: a conditional request per existing file, a 304 moving no
// body, a changed file replaced, a server that ignores conditions costing
// a download and never a wrong file; -R file times.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// condServer serves files with an ETag and a Last-Modified time through
// net/http's ServeContent, which answers If-None-Match, If-Modified-Since
// and ranges as RFC 9110 says; with ignore set it answers every request
// with the whole file. It counts requests, 304s and body bytes sent.
type condServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string]condFile
	ignore   bool
	requests int
	notMod   int
	body     int64
	conds    map[string]int // condition header seen -> count
}

type condFile struct {
	data []byte
	etag string
	mod  time.Time
}

type countingWriter struct {
	http.ResponseWriter
	n *int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	*w.n += int64(n)
	return n, err
}

func newCondServer(t *testing.T) *condServer {
	s := &condServer{files: map[string]condFile{}, conds: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f, ok := s.files[r.URL.Path]
		ignore := s.ignore
		s.requests++
		for _, h := range []string{"If-None-Match", "If-Modified-Since"} {
			if r.Header.Get(h) != "" {
				s.conds[h]++
			}
		}
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		var n int64
		cw := countingWriter{w, &n}
		if ignore {
			w.Header().Set("Content-Length", fmt.Sprint(len(f.data)))
			_, _ = cw.Write(f.data)
		} else {
			w.Header().Set("ETag", f.etag)
			rec := &statusRecorder{ResponseWriter: cw}
			http.ServeContent(rec, r, "", f.mod, bytes.NewReader(f.data))
			if rec.code == http.StatusNotModified {
				s.mu.Lock()
				s.notMod++
				s.mu.Unlock()
			}
		}
		s.mu.Lock()
		s.body += n
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(c int) { r.code = c; r.ResponseWriter.WriteHeader(c) }

func (s *condServer) set(path string, data []byte, version int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = condFile{data: data, etag: fmt.Sprintf(`"%s-v%d"`, filepath.Base(path), version),
		mod: time.Date(2026, 1, 1+version, 12, 0, 0, 0, time.UTC)}
}

func (s *condServer) counts() (requests, notMod int, body int64, conds map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := map[string]int{}
	for k, v := range s.conds {
		c[k] = v
	}
	requests, notMod, body = s.requests, s.notMod, s.body
	s.requests, s.notMod, s.body, s.conds = 0, 0, 0, map[string]int{}
	return requests, notMod, body, c
}

func fileData(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("file %d\n", i)), 100+i%50) }

func TestUpdateRerun(t *testing.T) {
	t.Parallel()
	s := newCondServer(t)
	const n = 1000
	var list strings.Builder
	for i := range n {
		p := fmt.Sprintf("/f/%d.bin", i)
		s.set(p, fileData(i), 1)
		fmt.Fprintf(&list, "%s%s\n", s.URL, p)
	}
	dir := t.TempDir()
	r := mgList(t, dir, list.String(), "-d", "out", "--json", "-N")
	if r.code != 0 || len(r.results) != n {
		t.Fatalf("first run: exit %d, %d results\n%s", r.code, len(r.results), r)
	}
	s.counts()
	// -R is on with -N: the file has the server's time.
	fi, err := os.Stat(filepath.Join(dir, "out", "7.bin"))
	if err != nil || !fi.ModTime().Equal(time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("-N should set the file's time from Last-Modified: %v %v", fi.ModTime(), err)
	}

	// Nothing changed: one request per file, every one a 304, no body.
	r = mgList(t, dir, list.String(), "-d", "out", "--json", "-N")
	reqs, notMod, body, conds := s.counts()
	if reqs != n || notMod != n || body != 0 || conds["If-None-Match"] != n {
		t.Fatalf("unchanged rerun: %d requests, %d 304s, %d body bytes, conditions %v; want %d, %d, 0, If-None-Match on each",
			reqs, notMod, body, conds, n, n)
	}
	for _, res := range r.results {
		if res.Status != "unchanged" || res.Bytes != 0 {
			t.Fatalf("unchanged rerun: %+v", res)
		}
	}
	if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("%d unchanged", n)) {
		t.Fatalf("unchanged rerun: exit %d, summary:\n%s", r.code, r.stderr)
	}
	// -c -N, the README's rerun recipe: the same one request per file.
	r = mgList(t, dir, list.String(), "-d", "out", "--json", "-c", "-N")
	if reqs, notMod, body, _ = s.counts(); reqs != n || notMod != n || body != 0 || r.code != 0 {
		t.Fatalf("-c -N rerun: %d requests, %d 304s, %d body bytes, exit %d", reqs, notMod, body, r.code)
	}

	// Three files change on the server: only they are fetched, and replaced.
	for _, i := range []int{3, 500, 999} {
		s.set(fmt.Sprintf("/f/%d.bin", i), []byte(fmt.Sprintf("new content of %d\n", i)), 2)
	}
	r = mgList(t, dir, list.String(), "-d", "out", "--json", "-N")
	reqs, notMod, _, _ = s.counts()
	got := bySource(t, r)
	for _, i := range []int{3, 500, 999} {
		if res := got[fmt.Sprintf("list.txt:%d", i+1)]; res.Status != "ok" {
			t.Errorf("changed file %d: %+v", i, res)
		}
		wantFile(t, filepath.Join(dir, "out", fmt.Sprintf("%d.bin", i)), []byte(fmt.Sprintf("new content of %d\n", i)))
	}
	if reqs != n || notMod != n-3 {
		t.Fatalf("rerun with 3 changed: %d requests, %d 304s; want %d and %d", reqs, notMod, n, n-3)
	}

	// A server that ignores conditions: every file comes again whole, and
	// every file is right.
	s.mu.Lock()
	s.ignore = true
	s.mu.Unlock()
	for _, i := range []int{10, 11} {
		s.set(fmt.Sprintf("/f/%d.bin", i), []byte("changed again\n"), 3)
	}
	r = mgList(t, dir, list.String(), "-d", "out", "--json", "-N")
	if reqs, _, _, _ = s.counts(); reqs != n || r.code != 0 {
		t.Fatalf("conditions ignored: %d requests, exit %d", reqs, r.code)
	}
	for _, i := range []int{1, 10, 11} {
		want := fileData(i)
		if i != 1 {
			want = []byte("changed again\n")
		}
		wantFile(t, filepath.Join(dir, "out", fmt.Sprintf("%d.bin", i)), want)
	}
	noLeftovers(t, dir)
}

// Files saved without -N (no record) are checked by their own time; a
// 304 teaches the ETag for the next run. A file edited since it was saved
// is not described by its record any more: it is asked about by its time.
func TestUpdateWithoutRecord(t *testing.T) {
	t.Parallel()
	s := newCondServer(t)
	s.set("/a.bin", fileData(1), 1)
	s.set("/b.bin", fileData(2), 1)
	dir := t.TempDir()
	args := []string{"-d", "out", "--json", s.URL + "/a.bin", s.URL + "/b.bin"}
	if r := mg(t, dir, args...); r.code != 0 {
		t.Fatalf("plain run: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", ".multiget")); err == nil {
		t.Fatal("a run without -N wrote a state store")
	}
	s.counts()
	r := mg(t, dir, append([]string{"-N"}, args...)...)
	reqs, notMod, body, conds := s.counts()
	if r.code != 0 || reqs != 2 || notMod != 2 || body != 0 || conds["If-Modified-Since"] != 2 {
		t.Fatalf("-N on files saved without it: %d requests, %d 304s, %d bytes, %v\n%s", reqs, notMod, body, conds, r)
	}
	r = mg(t, dir, append([]string{"-N", "-v"}, args...)...)
	if _, _, _, conds = s.counts(); conds["If-None-Match"] != 2 {
		t.Fatalf("the 304's ETag was not recorded for the next run: %v\n%s", conds, r)
	}
	if n := strings.Count(r.stderr, ", HTTP/1.1 304, 0 B in "); n != 2 || strings.Count(r.stderr, ": unchanged\n") != 2 {
		t.Fatalf("-v should show each 304 as unchanged:\n%s", r.stderr)
	}
	// An edit makes the record stale: the next check goes by the time.
	if err := os.WriteFile(filepath.Join(dir, "out", "a.bin"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	mg(t, dir, append([]string{"-N"}, args...)...)
	if _, _, _, conds = s.counts(); conds["If-None-Match"] != 1 || conds["If-Modified-Since"] != 1 {
		t.Fatalf("edited file: want it asked about by time, got %v", conds)
	}
}

// -R without -N; --remote-time=false with -N.
func TestRemoteTime(t *testing.T) {
	t.Parallel()
	s := newCondServer(t)
	s.set("/t.bin", fileData(5), 4)
	when := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		args   []string
		server bool
	}{{[]string{"-R"}, true}, {nil, false}, {[]string{"-N", "--remote-time=false"}, false}} {
		dir := t.TempDir()
		r := mg(t, dir, append(c.args, "-d", "out", s.URL+"/t.bin")...)
		fi, err := os.Stat(filepath.Join(dir, "out", "t.bin"))
		if r.code != 0 || err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, r)
		}
		if got := fi.ModTime().Equal(when); got != c.server {
			t.Errorf("%v: file time %v, server's time %v: want server's %v", c.args, fi.ModTime(), when, c.server)
		}
	}
}

// A file saved under the server's name (--content-disposition) is found
// again by -N: the record, keyed by the entry's own name, says where.
func TestUpdateContentDisposition(t *testing.T) {
	t.Parallel()
	data := fileData(7)
	var mu sync.Mutex
	var notMod, reqs int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"cd-v1"`)
		w.Header().Set("Content-Disposition", `attachment; filename="real.bin"`)
		rec := &statusRecorder{ResponseWriter: w}
		http.ServeContent(rec, r, "", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), bytes.NewReader(data))
		mu.Lock()
		defer mu.Unlock()
		reqs++
		if rec.code == http.StatusNotModified {
			notMod++
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"-d", "out", "--json", "-N", "--content-disposition", srv.URL + "/download"}
	if r := mg(t, dir, args...); r.code != 0 || single(t, r).Path != "out/real.bin" {
		t.Fatalf("first run: %s", r)
	}
	r := mg(t, dir, args...)
	res := single(t, r)
	mu.Lock()
	defer mu.Unlock()
	if res.Status != "unchanged" || res.Path != "out/real.bin" || reqs != 2 || notMod != 1 {
		t.Fatalf("rerun: want unchanged at out/real.bin after one 304, got %+v (%d requests, %d 304s)\n%s", res, reqs, notMod, r)
	}
	wantFile(t, filepath.Join(dir, "out", "real.bin"), data)
}

// A state store that cannot be written costs no file: the entry is ok and
// a warning says what the next -N run will do instead.
func TestUpdateStoreUnwritable(t *testing.T) {
	t.Parallel()
	s := newCondServer(t)
	s.set("/w.bin", fileData(3), 1)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "out", ".multiget"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mg(t, dir, "-d", "out", "--json", "-N", s.URL+"/w.bin")
	if res := single(t, r); r.code != 0 || res.Status != "ok" {
		t.Fatalf("want ok, got %+v\n%s", res, r)
	}
	if !strings.Contains(r.stderr, "multiget: warning: -N could not record what it fetched: ") {
		t.Fatalf("no warning about the state store:\n%s", r.stderr)
	}
	wantFile(t, filepath.Join(dir, "out", "w.bin"), fileData(3))
}
