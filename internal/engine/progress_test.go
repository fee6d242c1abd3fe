package engine

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// sizesSeen waits for the progress snapshot in which both held bodies have
// arrived as far as the server sends them, keeps it and stops the run.
type sizesSeen struct {
	recorder
	mu     sync.Mutex
	want   int64
	got    Progress
	cancel func()
}

func (s *sizesSeen) Progress(p Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got.Bytes < s.want && p.Bytes >= s.want {
		s.got = p
		s.cancel()
	}
}

// Progress has the run's expected total (finished bytes plus the
// Content-Length of what runs) and the largest running files.
func TestProgressSizes(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// /hold/N: N bytes of 2N announced. Above the size written unnamed.
	obs := &sizesSeen{want: 1000 + 300000 + 200000, cancel: cancel}
	entries := []Entry{
		{Source: "small", URL: s.URL + "/size/1000/s", Path: filepath.Join(dir, "s")},
		{Source: "a", URL: s.URL + "/hold/300000/a", Path: filepath.Join(dir, "a")},
		{Source: "b", URL: s.URL + "/hold/200000/b", Path: filepath.Join(dir, "b")},
	}
	st := runObserved(t, ctx, Config{Parallel: 3}, entries, obs)
	if st.OK != 1 || st.Unfinished != 2 {
		t.Fatalf("%+v", st)
	}
	p := obs.got
	if p.Done != 1 || p.Running != 2 || p.Unsized != 0 {
		t.Errorf("done %d, running %d, unsized %d; want 1, 2, 0", p.Done, p.Running, p.Unsized)
	}
	if want := int64(1000 + 600000 + 400000); p.Expected != want {
		t.Errorf("expected total %d, want %d", p.Expected, want)
	}
	want := []FileProgress{{filepath.Join(dir, "a"), 300000, 600000}, {filepath.Join(dir, "b"), 200000, 400000}}
	if len(p.Largest) != len(want) {
		t.Fatalf("largest %+v, want %+v", p.Largest, want)
	}
	for i := range want {
		if p.Largest[i] != want[i] {
			t.Errorf("largest[%d] = %+v, want %+v", i, p.Largest[i], want[i])
		}
	}
}

func TestKeepLargest(t *testing.T) {
	var l [MaxLargest]FileProgress
	n := 0
	for _, f := range []FileProgress{{"a", 1, 10}, {"b", 5, -1}, {"c", 0, 30}, {"d", 0, 2}, {"e", 0, 20}} {
		n = keepLargest(&l, n, f)
	}
	got := ""
	for _, f := range l[:n] {
		got += f.Path
	}
	if got != "cea" {
		t.Errorf("kept %q, want cea (by size, by bytes when unknown)", got)
	}
}
