//go:build mgtest

package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// Bodies larger than one write buffer are written by writer threads while
// the loop receives. Sizes around the buffer size and far beyond the
// buffers one transfer may hold, with and without a Content-Length, must
// arrive byte for byte, and the large ones must have taken that path.
func TestLargeBodiesGoThroughWriters(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const buf = 256 << 10 // MG_BUFCAP in writers.h
	cases := []struct {
		route string
		size  int
		async bool
	}{
		{"size", buf - 1, false},
		{"size", buf, false}, // fills the buffer exactly: written at the end
		{"size", buf + 1, true},
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
	s := newServer(t)
	dir := t.TempDir()
	const n = 1<<20 + 5 // less than the 8 buffers a transfer may hold: it never pauses
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
	if !st.Interrupted || st.Failed != 1 {
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

// A transfer whose buffers are all queued to a held writer is paused, and
// the loop goes on with the others: three small files, whose server
// answers only once that pause has happened, must finish while the writer
// is still held. Only then is it released, and the large file must arrive
// whole. A loop that waited for the buffer instead would never see the
// small files; a watchdog then releases everything and the test fails.
func TestPausedTransferLetsOthersFinish(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const big = 16 << 20 // more than the 2 MiB of buffers a transfer may queue
	holdWriters(true)
	t.Cleanup(func() { holdWriters(false) })
	before := pauses()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for pauses() == before {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
		s.openGate()
	}()
	var stuck atomic.Bool
	watchdog := time.AfterFunc(time.Minute, func() {
		stuck.Store(true)
		holdWriters(false)
		s.openGate()
	})
	defer watchdog.Stop()

	entries := []Entry{{Source: "big", URL: fmt.Sprintf("%s/size/%d/big", s.URL, big), Path: filepath.Join(dir, "big")}}
	for i := range 3 {
		name := fmt.Sprintf("s%d", i)
		entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/gate/%d/%s", s.URL, 1000+i, name), Path: filepath.Join(dir, name)})
	}
	obs := &releaseAfter{n: 3, release: func() { holdWriters(false) }}
	ch := make(chan []Entry, 1)
	ch <- append([]Entry(nil), entries...) // the engine clears the entries it takes
	close(ch)
	st, err := Run(context.Background(), Config{Parallel: 4, Protocols: []string{"http"}}, ch, obs)
	if err != nil {
		t.Fatal(err)
	}
	if stuck.Load() {
		t.Fatalf("the small files did not finish while the large one waited for its writer: %+v", obs.results)
	}
	if st.OK != 4 {
		t.Fatalf("%+v: %+v", st, obs.results)
	}
	if pauses() == before {
		t.Errorf("the large transfer was never paused")
	}
	if last := obs.results[len(obs.results)-1].Source; last != "big" {
		t.Errorf("%s finished last, want big (its writer was held until the others were done)", last)
	}
	for i, e := range entries {
		size := big
		if i > 0 {
			size = 1000 + i - 1
		}
		got, err := os.ReadFile(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body(e.Source, size)) {
			t.Errorf("%s: content differs, got %d bytes", e.Source, len(got))
		}
	}
	noPartFiles(t, dir)
}

// releaseAfter calls release once it has seen n results other than big's.
type releaseAfter struct {
	recorder
	n       int
	release func()
}

func (r *releaseAfter) Result(res Result) {
	r.recorder.Result(res)
	if res.Source == "big" {
		return
	}
	r.n--
	if r.n == 0 {
		r.release()
	}
}

// While paused, a transfer receives nothing, but it waits for its own
// writes, not for the server: --stall-timeout must not end it. The writer
// is held for five stall timeouts.
func TestPausedTransferIsNotStalled(t *testing.T) {
	// The fault server streams its content as it makes it: the first
	// bytes come at once, whatever the size (a stall counts from the
	// request).
	s := faultServer(t)
	dir := t.TempDir()
	const big = 16 << 20 // more than a transfer may queue
	holdWriters(true)
	t.Cleanup(func() { holdWriters(false) })
	before := pauses()
	const stall = 200 * time.Millisecond
	go func() {
		// A minute at most: without a pause the loop itself waits.
		for end := time.Now().Add(time.Minute); pauses() == before && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(5 * stall)
		holdWriters(false)
	}()
	rec, st := run(t, context.Background(), Config{Parallel: 1, StallTimeout: stall},
		[]Entry{{Source: "big", URL: s.URLFor(fmt.Sprintf("/ok/%d/big", big)), Path: filepath.Join(dir, "big")}})
	if st.OK != 1 || rec.results[0].Attempts != 1 {
		t.Fatalf("%+v: %+v", st, rec.results)
	}
	if pauses() == before {
		t.Errorf("the transfer was never paused")
	}
	got, err := os.ReadFile(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, testserver.Content("big", big)) {
		t.Errorf("content differs, got %d bytes", len(got))
	}
}

// Interrupted while paused (its buffers all queued to a held writer), a
// transfer keeps NAME.part with exactly the bytes it accepted, in order:
// what libcurl still held for it is not counted and not written.
func TestInterruptWhilePaused(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const n = 16 << 20 // more than a transfer may queue
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	holdWriters(true)
	t.Cleanup(func() { holdWriters(false) })
	before := pauses()
	go func() {
		for end := time.Now().Add(time.Minute); pauses() == before && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		cancel()
		time.AfterFunc(100*time.Millisecond, func() { holdWriters(false) })
	}()
	rec := &recorder{}
	ch := make(chan []Entry, 1)
	ch <- []Entry{{Source: "hold", URL: s.URL + fmt.Sprintf("/hold/%d/h", n), Path: filepath.Join(dir, "h")}}
	close(ch)
	st, err := Run(ctx, Config{Parallel: 1, Protocols: []string{"http"}}, ch, rec)
	if err != nil {
		t.Fatal(err)
	}
	if pauses() == before {
		t.Fatalf("the transfer was never paused")
	}
	if !st.Interrupted || st.Failed != 1 {
		t.Fatalf("%+v", st)
	}
	got, err := os.ReadFile(filepath.Join(dir, "h"+PartSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != rec.results[0].Bytes || len(got) == 0 || len(got) >= n {
		t.Fatalf("h.part holds %d bytes; the result counts %d", len(got), rec.results[0].Bytes)
	}
	if !bytes.Equal(got, body("h", n)[:len(got)]) {
		t.Errorf("h.part is not the first %d bytes of the body", len(got))
	}
}
