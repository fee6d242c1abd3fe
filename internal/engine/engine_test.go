package engine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDownloadsManyEntriesWithinParallelLimit(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	var entries []Entry
	for i := 0; i < 60; i++ {
		name := fmt.Sprintf("f%02d", i)
		size := i * 997 // includes an empty body and multi-chunk ones
		if i == 7 {
			size = 3 << 20
		}
		entries = append(entries, Entry{
			Source: fmt.Sprintf("list:%d", i+1),
			URL:    fmt.Sprintf("%s/size/%d/%s", s.URL, size, name),
			Path:   filepath.Join(dir, "sub", name),
		})
	}
	s.wave.Set(3)
	rec, st := run(t, context.Background(), Config{Parallel: 3}, entries)
	if st.OK != len(entries) || len(rec.results) != len(entries) {
		t.Fatalf("ok=%d results=%d, want %d: %+v", st.OK, len(rec.results), len(entries), rec.results)
	}
	s.wantConcurrency(t, 3, "-j 3")
	for _, en := range entries {
		got, err := os.ReadFile(en.Path)
		if err != nil {
			t.Fatal(err)
		}
		var size int
		var name string
		_, _ = fmt.Sscanf(strings.TrimPrefix(en.URL, s.URL), "/size/%d/%s", &size, &name)
		if !bytes.Equal(got, body(name, size)) {
			t.Errorf("%s: content differs (%d bytes, want %d)", en.Path, len(got), size)
		}
	}
	for _, r := range rec.results {
		if r.HTTPCode != 200 || r.CurlCode != 0 || r.EffectiveURL != r.URL {
			t.Errorf("%s: http %d curl %d effective %q", r.Source, r.HTTPCode, r.CurlCode, r.EffectiveURL)
		}
	}
	noPartFiles(t, dir)
}

func TestFailuresLeaveNothingBehind(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	// A port nobody listens on: bind, note, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/x"
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, url, path, wantErr string
		http                     int
	}{
		{"404", s.URL + "/status/404", "nf", "HTTP 404 Not Found", 404},
		{"500", s.URL + "/status/500", "ise", "HTTP 500 Internal Server Error", 500},
		{"302 without Location", s.URL + "/noloc", "noloc", "HTTP 302 Found without a usable Location", 302},
		{"connection refused", refused, "refused", "Failed to connect to 127.0.0.1", 0},
		{"path component is a file", s.URL + "/size/10/a", "file/a", "cannot create", 200},
		// A body the linker writes (see "Hand-over" in linker.c).
		{"path component is a file, 10 KB", s.URL + "/size/10000/b", "file/b", "cannot create " + filepath.Join(dir, "file/b") + ": not a directory", 200},
	}
	var entries []Entry
	for i, c := range cases {
		entries = append(entries, Entry{Source: c.name, URL: c.url, Path: filepath.Join(dir, c.path)})
		_ = i
	}
	entries = append(entries, Entry{Source: "good", URL: s.URL + "/size/5/good", Path: filepath.Join(dir, "good")})
	rec, st := run(t, context.Background(), Config{}, entries)
	if st.Failed != len(cases) || st.OK != 1 {
		t.Fatalf("stats %+v", st)
	}
	got := rec.bySource()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := got[c.name]
			if r.Status != StatusFailed || !strings.Contains(r.Error, c.wantErr) || r.HTTPCode != c.http {
				t.Errorf("got %+v", r)
			}
			if _, err := os.Lstat(filepath.Join(dir, c.path)); err == nil {
				t.Errorf("final file exists")
			}
		})
	}
	noPartFiles(t, dir)
}

func TestEmptyBodyAndRedirect(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	rec, st := run(t, context.Background(), Config{}, []Entry{
		{Source: "empty", URL: s.URL + "/empty", Path: filepath.Join(dir, "empty")},
		{Source: "redir", URL: s.URL + "/redirect/r", Path: filepath.Join(dir, "r")},
	})
	if st.OK != 2 {
		t.Fatalf("%+v", rec.results)
	}
	if fi, err := os.Stat(filepath.Join(dir, "empty")); err != nil || fi.Size() != 0 {
		t.Errorf("empty file: %v %v", fi, err)
	}
	if r := rec.bySource()["redir"]; r.EffectiveURL != s.URL+"/size/100/r" {
		t.Errorf("effective URL %q", r.EffectiveURL)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "r"))
	if !bytes.Equal(got, body("r", 100)) {
		t.Errorf("redirected body differs")
	}
}

func TestInvalidAndNoClobber(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep")
	if err := os.WriteFile(keep, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, st := run(t, context.Background(), Config{NoClobber: true}, []Entry{
		{Source: "bad", URL: "nope", Invalid: fmt.Errorf("not a URL")},
		{Source: "keep", URL: s.URL + "/size/10/keep", Path: keep},
	})
	if st.Invalid != 1 || st.Skipped != 1 {
		t.Fatalf("%+v %+v", st, rec.results)
	}
	if b, _ := os.ReadFile(keep); string(b) != "old" {
		t.Errorf("--no-clobber replaced the file")
	}
}

func TestReplaceIsAtomicOverExistingFile(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, st := run(t, context.Background(), Config{}, []Entry{
		{Source: "a", URL: s.URL + "/size/20/f", Path: p},
		{Source: "b", URL: s.URL + "/status/404", Path: filepath.Join(dir, "g")},
	})
	if st.OK != 1 {
		t.Fatal(st)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, body("f", 20)) {
		t.Errorf("not replaced")
	}
}

func TestPerHostCap(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	var entries []Entry
	for i := 0; i < 30; i++ {
		entries = append(entries, Entry{Source: strconv.Itoa(i), URL: fmt.Sprintf("%s/size/200000/p%d", s.URL, i),
			Path: filepath.Join(dir, strconv.Itoa(i))})
	}
	s.wave.Set(2)
	_, st := run(t, context.Background(), Config{Parallel: 8, PerHost: 2}, entries)
	if st.OK != 30 {
		t.Fatal(st)
	}
	s.wantConcurrency(t, 2, "--per-host 2")
}

func TestFailFastAbortsTheRest(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	entries := []Entry{
		// Above the size written unnamed, so that a .part is kept.
		{Source: "slow", URL: s.URL + "/hold/300000/a", Path: filepath.Join(dir, "a")},
		{Source: "bad", URL: s.URL + "/status/404", Path: filepath.Join(dir, "b")},
	}
	for i := 0; i < 50; i++ {
		entries = append(entries, Entry{Source: "later" + strconv.Itoa(i), URL: s.URL + "/size/1/x", Path: filepath.Join(dir, "l"+strconv.Itoa(i))})
	}
	rec, st := run(t, context.Background(), Config{Parallel: 2, FailFast: true}, entries)
	if !st.FailFast || st.OK != 0 {
		t.Fatalf("%+v", st)
	}
	r := rec.bySource()["slow"]
	if r.Status != StatusInterrupted || !strings.Contains(r.Error, "--fail-fast") {
		t.Errorf("slow transfer: %+v", r)
	}
	// Every entry taken gets one result: later0 came in the first batch
	// (of 3) with slow and bad, and is reported not started; the later
	// batches were never taken.
	if len(rec.results) != 3 {
		t.Errorf("%d results, want 3 (slow, bad, and later0 of their batch)", len(rec.results))
	}
	if r := rec.bySource()["later0"]; r.Status != StatusInterrupted || r.Error != "not started: --fail-fast after bad failed" || r.Attempts != 0 {
		t.Errorf("later0: %+v, want interrupted, not started", r)
	}
	// The aborted transfer keeps what it received, for -c. Whether its
	// first bytes arrived before the 404 ended the run is up to the
	// scheduler, so check that what is on disk matches what was reported.
	fi, err := os.Stat(filepath.Join(dir, "a"+PartSuffix))
	if r.Bytes > 0 && (err != nil || fi.Size() != r.Bytes) {
		t.Errorf("a.part after %d bytes: %v %v", r.Bytes, fi, err)
	}
	if r.Bytes == 0 && err == nil {
		t.Errorf("a.part exists though no byte arrived")
	}
	if _, err := os.Lstat(filepath.Join(dir, "a")); err == nil {
		t.Errorf("final file exists")
	}
}

// An interrupted transfer keeps NAME.part with every byte it accepted:
// what still waits in its write buffer is written before the file is
// closed, and the bytes counted for a resume are the bytes in the file.
func TestCancelAbortsRunningAndKeepsPart(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// n bytes of a body announced as 2n: too large to be written unnamed,
	// and less than the 256 KiB write buffer, so that every byte waits in
	// it until the interrupt.
	const n = 200_000
	obs := &cancelAfter{limit: n, cancel: cancel}
	ch := make(chan []Entry, 1)
	ch <- []Entry{{Source: "slow", URL: fmt.Sprintf("%s/hold/%d/a", s.URL, n), Path: filepath.Join(dir, "a")}}
	close(ch)
	st, err := Run(ctx, Config{Parallel: 1, Protocols: []string{"http"}}, ch, obs)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Interrupted || st.Unfinished != 1 || st.Failed != 0 {
		t.Fatalf("%+v", st)
	}
	fileIs(t, filepath.Join(dir, "a"+PartSuffix), body("a", n))
	if _, err := os.Lstat(filepath.Join(dir, "a")); err == nil {
		t.Errorf("final file exists")
	}
}

// With more than FD_SETSIZE descriptors open, libcurl's sockets land above
// 1024 where select(2) cannot see them; downloads must still complete, and
// through the poll path.
func TestBeyondFDSetSize(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	var held []*os.File
	defer func() {
		for _, f := range held {
			f.Close()
		}
	}()
	for i := 0; i < 1100; i++ {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Skipf("cannot open 1100 descriptors: %v", err)
		}
		held = append(held, f)
	}
	var entries []Entry
	for i := 0; i < 20; i++ {
		entries = append(entries, Entry{Source: strconv.Itoa(i), URL: fmt.Sprintf("%s/size/300000/b%d", s.URL, i),
			Path: filepath.Join(dir, strconv.Itoa(i))})
	}
	_, st := run(t, context.Background(), Config{Parallel: 4}, entries)
	if st.OK != 20 {
		t.Fatalf("%+v", st)
	}
	if st.PollWaits == 0 {
		t.Errorf("no wait went through curl_multi_poll: %+v", st)
	}
	for i := 0; i < 20; i++ {
		got, _ := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
		if !bytes.Equal(got, body(fmt.Sprintf("b%d", i), 300000)) {
			t.Errorf("file %d differs", i)
		}
	}
}

func TestSelectPathWhenDescriptorsAreLow(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	_, st := run(t, context.Background(), Config{Parallel: 2}, []Entry{
		{Source: "a", URL: s.URL + "/size/400000/a", Path: filepath.Join(dir, "a")},
	})
	if st.OK != 1 || st.SelectWaits == 0 || st.PollWaits != 0 {
		t.Fatalf("%+v", st)
	}
}

// Files are created and renamed relative to a cached descriptor of their
// directory: entries that alternate between directories (nested, missing
// until the first file, or given relative to the working directory) must
// each land in their own.
func TestOutputDirectoriesAlternate(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	paths := []string{
		filepath.Join(dir, "a", "x1"),
		filepath.Join(dir, "b", "c", "x2"),
		filepath.Join(dir, "a", "x3"),
		"x4",
		filepath.Join("rel", "x5"),
		filepath.Join(dir, "b", "c", "x6"),
		filepath.Join(dir, "x7"),
		filepath.Join("rel", "x8"),
	}
	var entries []Entry
	for i, p := range paths {
		name := fmt.Sprintf("n%d", i)
		entries = append(entries, Entry{Source: name, URL: s.URL + "/size/" + strconv.Itoa(100+i) + "/" + name, Path: p})
	}
	// One at a time, so consecutive files really do change directory.
	_, st := run(t, context.Background(), Config{Parallel: 1}, entries)
	if st.OK != len(paths) {
		t.Fatalf("%+v", st)
	}
	for i, p := range paths {
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, body(fmt.Sprintf("n%d", i), 100+i)) {
			t.Errorf("%s: %v, %d bytes", p, err, len(b))
		}
	}
	noPartFiles(t, dir)
}

// resultSignal is an Observer that signals each result.
type resultSignal struct {
	recorder
	got chan Result
}

func (r *resultSignal) Result(res Result) {
	r.recorder.Result(res)
	r.got <- res
}

// An output directory removed (and so recreated) between two entries: the
// second entry must not write into the removed directory's cached
// descriptor, where its file would be lost.
func TestOutputDirectoryRemovedBetweenEntries(t *testing.T) {
	s := newServer(t)
	dir := filepath.Join(t.TempDir(), "out")
	in := make(chan []Entry)
	obs := &resultSignal{got: make(chan Result, 4)}
	cfg := Config{Parallel: 1, Protocols: []string{"http"}, MaxRedirs: 1, ConnectTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), cfg, in, obs)
		done <- err
	}()
	in <- []Entry{{Source: "one", URL: s.URL + "/size/10/one", Path: filepath.Join(dir, "one")}}
	if r := <-obs.got; r.Status != StatusOK {
		t.Fatalf("first entry: %+v", r)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	in <- []Entry{{Source: "two", URL: s.URL + "/size/20/two", Path: filepath.Join(dir, "two")}}
	if r := <-obs.got; r.Status != StatusOK {
		t.Fatalf("second entry: %+v", r)
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "two")); err != nil || !bytes.Equal(b, body("two", 20)) {
		t.Errorf("second file: %v, %d bytes", err, len(b))
	}
}
