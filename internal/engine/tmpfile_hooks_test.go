//go:build mgtest

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
// Mode 0 is the switch (Tuning.NoUnnamed).
func TestSmallFileLinkFallbacks(t *testing.T) {
	s := newServer(t)
	for _, mode := range []int{0, 2, 3, 4} {
		for _, noClobber := range []bool{false, true} {
			t.Run("mode"+strconv.Itoa(mode)+map[bool]string{false: "", true: "-noclobber"}[noClobber], func(t *testing.T) {
				cfg := Config{NoClobber: noClobber}
				if mode == 0 {
					cfg.Tuning.NoUnnamed = true
				} else {
					setTmpfileMode(mode)
					defer setTmpfileMode(1)
				}
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
				_, st := run(t, context.Background(), cfg, entries)
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
