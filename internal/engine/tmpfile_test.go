package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Small bodies are written unnamed and linked into place when complete
// (see "Small files" in linker.c).

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
	if !st.Interrupted || st.Unfinished != 1 || st.Failed != 0 {
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
