//go:build mgtest

package engine

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The loop never waits for the linker's directory lock, which the linker
// holds across its file operations (a link, a copy, a directory scan):
// with that lock held throughout, files written by the loop into
// directories it has to create still all arrive. Before, creating a
// directory made the loop take that lock to make the linker forget its
// cached directory, and the run hung until the linker let go.
func TestLoopNeverWaitsForTheLinkersDirectory(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	var entries []Entry
	for i := 0; i < 6; i++ {
		name := "f" + strconv.Itoa(i)
		entries = append(entries, Entry{Source: name, URL: s.URL + "/size/3000/" + name,
			Path: filepath.Join(dir, "d"+strconv.Itoa(i), "sub", name)})
	}
	holdLinkDir(true)
	var once sync.Once
	release := func() { once.Do(func() { holdLinkDir(false) }) }
	defer release()
	// The lock is let go once every entry has its result (the run's end
	// closes the linker's directory too, outside any callback), or, in a
	// run that is stuck, after a minute, so that it fails rather than hangs.
	stuck := time.AfterFunc(time.Minute, func() {
		t.Error("the transfers waited for the linker's directory lock")
		release()
	})
	rec := &releasing{n: len(entries), release: release}
	st := runObserved(t, context.Background(), Config{Parallel: 3, Tuning: Tuning{NoUnnamed: true, NoHandover: true}}, entries, rec)
	stuck.Stop()
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	for _, en := range entries {
		fileIs(t, en.Path, body(en.Source, 3000))
	}
}

// releasing calls release once n results are in.
type releasing struct {
	recorder
	n       int
	release func()
}

func (r *releasing) Result(res Result) {
	r.recorder.Result(res)
	r.mu.Lock()
	done := len(r.results) == r.n
	r.mu.Unlock()
	if done {
		r.release()
	}
}
