//go:build mgtest

package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// Bodies larger than one write buffer are written by writer threads while
// the loop receives. Sizes around the buffer size and far beyond the
// buffers one transfer may hold, with and without a Content-Length, must
// arrive byte for byte, and the large ones must have taken that path.
func TestLargeBodiesGoThroughWriters(t *testing.T) {
	everyFillFast(t)
	s := newServer(t)
	dir := t.TempDir()
	const buf = 256 << 10 // MG_BUFCAP in writers.h
	cases := []struct {
		route string
		size  int
		async bool
	}{
		{"size", buf - 1, false},
		{"size", buf, false},      // fills the buffer exactly: written at the end
		{"size", buf + 1, false},  // one full buffer: no second fill to show a rate
		{"size", 2*buf + 1, true}, // two fast fills in a row
		{"size", 5<<20 + 123, true},
		{"size", 23 << 20, true}, // more than the 8 buffers a transfer holds
		{"chunked", 3<<20 + 7, true},
		{"chunked", 1000, false},
	}
	var entries []Entry
	wantAsync := 0
	for i, c := range cases {
		name := fmt.Sprintf("w%d", i)
		entries = append(entries, Entry{
			Source: name,
			URL:    fmt.Sprintf("%s/%s/%d/%s", s.URL, c.route, c.size, name),
			Path:   filepath.Join(dir, name),
		})
		if c.async {
			wantAsync++
		}
	}
	before := asyncTransfers()
	rec, st := run(t, context.Background(), Config{Parallel: len(entries)}, entries)
	if st.OK != len(entries) {
		t.Fatalf("ok=%d, want %d: %+v", st.OK, len(entries), rec.results)
	}
	if got := asyncTransfers() - before; got < int64(wantAsync) {
		t.Errorf("%d transfers went through a writer thread, want at least %d", got, wantAsync)
	}
	for i, c := range cases {
		got, err := os.ReadFile(entries[i].Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body(entries[i].Source, c.size)) {
			t.Errorf("%s (%s, %d bytes): content differs, got %d bytes", entries[i].Source, c.route, c.size, len(got))
		}
	}
	noPartFiles(t, dir)
}

// An interrupted transfer keeps NAME.part with every byte it accepted: the
// writer's queue is drained before the file is closed, and the bytes
// counted for the resume are the bytes in the file. The writers are held
// until a while after the interrupt, so the engine meets queued buffers.
func TestInterruptKeepsEveryQueuedByte(t *testing.T) {
	everyFillFast(t)
	s := newServer(t)
	dir := t.TempDir()
	const n = 1<<20 + 5 // less than the 8 buffers a transfer may hold: all but the first go to its writer
	ctx, cancel := context.WithCancel(context.Background())
	holdWriters(true)
	t.Cleanup(func() { holdWriters(false) })
	obs := &cancelAfter{limit: n, cancel: func() {
		cancel()
		time.AfterFunc(100*time.Millisecond, func() { holdWriters(false) })
	}}
	ch := make(chan []Entry, 1)
	ch <- []Entry{{Source: "hold", URL: s.URL + fmt.Sprintf("/hold/%d/h", n), Path: filepath.Join(dir, "h")}}
	close(ch)
	before := asyncTransfers()
	st, err := Run(ctx, Config{Parallel: 1, Protocols: []string{"http"}}, ch, obs)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Interrupted || st.Unfinished != 1 || st.Failed != 0 {
		t.Fatalf("%+v", st)
	}
	if asyncTransfers() == before {
		t.Errorf("the transfer did not go through a writer thread")
	}
	got, err := os.ReadFile(filepath.Join(dir, "h"+PartSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body("h", n)) {
		t.Errorf("h.part holds %d bytes (or wrong ones), want the %d that arrived", len(got), n)
	}
	if _, err := os.Lstat(filepath.Join(dir, "h")); err == nil {
		t.Errorf("final file exists")
	}
}

// A body arriving slowly is written on the loop thread: at 2 MB/s a
// 256 KiB buffer takes 131 ms to fill, far past MG_FAST_FILL_NS, and a
// machine under load only makes it slower. It still arrives whole.
func TestSlowBodyTakesNoWriter(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	const size = 1<<20 + 3 // four full buffers and a bit
	e := Entry{Source: "slow", URL: s.URLFor(fmt.Sprintf("/throttle/2000000/%d/slow", size)), Path: filepath.Join(dir, "slow")}
	before := asyncTransfers()
	rec, st := run(t, context.Background(), Config{Parallel: 1, Protocols: []string{"http"}}, []Entry{e})
	if st.OK != 1 {
		t.Fatalf("%+v: %+v", st, rec.results)
	}
	if got := asyncTransfers() - before; got != 0 {
		t.Errorf("%d transfers went through a writer thread, want 0 for a body at 2 MB/s", got)
	}
	got, err := os.ReadFile(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, testserver.Content("slow", size)) {
		t.Errorf("got %d bytes (or wrong ones), want the %d served", len(got), size)
	}
}
