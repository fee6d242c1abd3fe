package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Small bodies are written unnamed and linked into place when complete
// (see "Small files" in xfer.c).

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var ns []string
	for _, de := range des {
		ns = append(ns, de.Name())
	}
	return ns
}

// watchDir notes, at every progress report after limit bytes, what dir
// holds, then cancels the run.
type watchDir struct {
	recorder
	t      *testing.T
	dir    string
	limit  int64
	cancel func()
	seen   [][]string
}

func (w *watchDir) Progress(p Progress) {
	if p.Bytes >= w.limit && w.seen == nil {
		w.seen = append(w.seen, names(w.t, w.dir))
		w.cancel()
	}
}

// Half of a small body has arrived: no name shows it, neither NAME nor
// NAME.part; interrupted, it leaves nothing behind and claims nothing kept.
func TestSmallBodyIsNeverPartial(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	obs := &watchDir{t: t, dir: out, limit: 10, cancel: cancel}
	// /hold/10: 10 bytes of 20, then nothing.
	st := runObserved(t, ctx, Config{Parallel: 1}, []Entry{{Source: "a", URL: s.URL + "/hold/10/a", Path: filepath.Join(out, "a")}}, obs)
	if !st.Interrupted || st.Failed != 1 {
		t.Fatalf("%+v", st)
	}
	if len(obs.seen) != 1 {
		t.Fatal("no progress report with the first 10 bytes")
	}
	if len(obs.seen[0]) != 0 {
		t.Errorf("with 10 of 20 bytes received, out/ holds %v; want nothing", obs.seen[0])
	}
	if ns := names(t, out); len(ns) != 0 {
		t.Errorf("after the interrupt out/ holds %v; want nothing", ns)
	}
	r := obs.bySource()["a"]
	if strings.Contains(r.Error, "kept") {
		t.Errorf("result claims bytes kept: %q", r.Error)
	}
}

// A fresh download of NAME takes away the NAME.part and NAME.part.meta an
// earlier run left, and replaces an older NAME.
func TestSmallFileReplacesOldFiles(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	for name, data := range map[string]string{
		"a.part": "stale", "a.part.meta": "stale",
		"b": "old b", "b.part": "stale",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	entries := []Entry{
		{Source: "a", URL: s.URL + "/size/10/a", Path: filepath.Join(dir, "a")},
		{Source: "b", URL: s.URL + "/size/10/b", Path: filepath.Join(dir, "b")},
	}
	_, st := run(t, context.Background(), Config{}, entries)
	if st.OK != 2 {
		t.Fatalf("%+v", st)
	}
	for _, n := range []string{"a", "b"} {
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || !bytes.Equal(got, body(n, 10)) {
			t.Errorf("%s: %q %v", n, got, err)
		}
	}
	if ns := names(t, dir); strings.Join(ns, " ") != "a b" {
		t.Errorf("dir holds %v, want [a b]", ns)
	}
}

// --no-clobber: an existing NAME stays as it is and the entry is skipped;
// nothing else is left.
func TestSmallFileNoClobber(t *testing.T) {
	defer func() {
		// Linked by descriptor (or through /proc where the kernel is
		// older than 6.10 and the user unprivileged), not copied.
		if got := tmpfileState(); got != 11 && got != 12 {
			t.Errorf("state %d after the run, want 11 or 12", got)
		}
	}()
	s := newServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := []Entry{
		{Source: "a", URL: s.URL + "/size/10/a", Path: filepath.Join(dir, "a")},
		{Source: "b", URL: s.URL + "/size/10/b", Path: filepath.Join(dir, "b")},
	}
	rec, st := run(t, context.Background(), Config{NoClobber: true}, entries)
	if st.OK != 1 || st.Skipped != 1 {
		t.Fatalf("%+v", st)
	}
	if r := rec.bySource()["a"]; r.Status != StatusSkipped {
		t.Errorf("a: %+v", r)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a")); string(got) != "mine" {
		t.Errorf("a was replaced: %q", got)
	}
	if ns := names(t, dir); strings.Join(ns, " ") != "a b" {
		t.Errorf("dir holds %v, want [a b]", ns)
	}
}

// Where a descriptor cannot be linked (kernels before 6.10 for an
// unprivileged user), /proc/self/fd/N is; where neither can, the bytes are
// copied into NAME.part and renamed, and files are no longer written
// unnamed. Every way, each file lands whole, replacing or keeping an older
// one as asked, and nothing else is left. Mode 0: no unnamed files; mode
// 4: a filesystem without O_TMPFILE (NAME.part from the first file on).
func TestSmallFileLinkFallbacks(t *testing.T) {
	s := newServer(t)
	for _, mode := range []int{0, 2, 3, 4} {
		for _, noClobber := range []bool{false, true} {
			t.Run("mode"+strconv.Itoa(mode)+map[bool]string{false: "", true: "-noclobber"}[noClobber], func(t *testing.T) {
				setTmpfileMode(mode)
				defer setTmpfileMode(1)
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "f0"), []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
				var entries []Entry
				// 0 to 11,400 bytes: written by the loop, and (from 4 KiB)
				// handed over to the linker; with O_TMPFILE refused, all
				// handed over, so that the linker meets the refusal.
				size := func(i int) int { return 600 * i }
				if mode == 4 {
					size = func(i int) int { return 5000 + 600*i }
				}
				for i := 0; i < 20; i++ {
					n := "f" + strconv.Itoa(i)
					entries = append(entries, Entry{Source: n, URL: s.URL + "/size/" + strconv.Itoa(size(i)) + "/" + n, Path: filepath.Join(dir, "sub", n)})
				}
				entries[0].Path = filepath.Join(dir, "f0")
				_, st := run(t, context.Background(), Config{NoClobber: noClobber}, entries)
				if want := 20 - map[bool]int{false: 0, true: 1}[noClobber]; st.OK != want {
					t.Fatalf("%+v, want %d ok", st, want)
				}
				for i, en := range entries {
					got, err := os.ReadFile(en.Path)
					want := body(en.Source, size(i))
					if i == 0 && noClobber {
						want = []byte("old")
					}
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("%s: %d bytes %v, want %d", en.Path, len(got), err, len(want))
					}
				}
				if ns := names(t, filepath.Join(dir, "sub")); len(ns) != 19 {
					t.Errorf("sub/ holds %d names, want 19: %v", len(ns), ns)
				}
				if ns := names(t, dir); strings.Join(ns, " ") != "f0 sub" {
					t.Errorf("dir holds %v, want [f0 sub]", ns)
				}
				// Afterwards: by descriptor, through /proc, or no more
				// unnamed files (copying, or no O_TMPFILE).
				if got, want := tmpfileState(), map[int]int{0: 1, 2: 12, 3: 3, 4: 1}[mode]; got != want {
					t.Errorf("state %d after the run, want %d", got, want)
				}
			})
		}
	}
}

// onResult runs f at the first result for source.
type onResult struct {
	recorder
	source string
	f      func()
	done   bool
}

func (o *onResult) Result(r Result) {
	o.recorder.Result(r)
	if r.Source == o.source && !o.done {
		o.done = true
		o.f()
	}
}

// In a directory that held no *.part when the run first linked a file
// there, a NAME.part that appears later is another process's, in use: it
// is left alone, and no look-up for a stale one is made per file. One
// that was there from the start is removed (TestSmallFileReplacesOldFiles).
func TestSmallFileLeavesLaterPartAlone(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	entries := []Entry{
		{Source: "a", URL: s.URL + "/size/10/a", Path: filepath.Join(dir, "a")},
		{Source: "b", URL: s.URL + "/gate/10/b", Path: filepath.Join(dir, "b")},
	}
	obs := &onResult{source: "a", f: func() {
		if err := os.WriteFile(filepath.Join(dir, "b.part"), []byte("theirs"), 0o644); err != nil {
			t.Error(err)
		}
		s.openGate()
	}}
	st := runObserved(t, context.Background(), Config{Parallel: 2}, entries, obs)
	if st.OK != 2 {
		t.Fatalf("%+v", st)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || !bytes.Equal(got, body("b", 10)) {
		t.Errorf("b: %q %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "b.part")); err != nil || string(got) != "theirs" {
		t.Errorf("b.part: %q %v, want it left as it was", got, err)
	}
}
