package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A body is coalesced into a write buffer of up to 256 KiB, and a chunk
// from libcurl at least that large is written as it comes, from libcurl's
// receive buffer (512 KiB, or 2 MiB while few transfers run). Sizes around
// each of those and far beyond them, with and without a Content-Length,
// arrive byte for byte, both with the 2 MiB buffers and without.
func TestLargeBodiesArriveWhole(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("bigbuf-off=%v", off), func(t *testing.T) {
			largeBodies(t, Tuning{NoBigBuffers: off})
		})
	}
}

func largeBodies(t *testing.T, tu Tuning) {
	s := newServer(t)
	dir := t.TempDir()
	const buf = 256 << 10 // MG_BUFCAP in xfer.h
	cases := []struct {
		route string
		size  int
	}{
		{"size", buf - 1},
		{"size", buf}, // fills the buffer exactly: written at the end
		{"size", buf + 1},
		{"size", 2*buf + 1},
		{"size", bigBuffer + 1},
		{"size", 5<<20 + 123},
		{"size", 23 << 20},
		{"chunked", 3<<20 + 7},
		{"chunked", 1000},
	}
	var entries []Entry
	for i, c := range cases {
		name := fmt.Sprintf("w%d", i)
		entries = append(entries, Entry{
			Source: name,
			URL:    fmt.Sprintf("%s/%s/%d/%s", s.URL, c.route, c.size, name),
			Path:   filepath.Join(dir, name),
		})
	}
	rec, st := run(t, context.Background(), Config{Parallel: len(entries), Tuning: tu}, entries)
	if st.OK != len(entries) {
		t.Fatalf("ok=%d, want %d: %+v", st.OK, len(entries), rec.results)
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

// An interrupted transfer keeps NAME.part with every byte it accepted:
// what is still in its write buffer is written before the file is closed,
// and the bytes counted for the resume are the bytes in the file. The
// server sends n bytes of a body announced twice as long, then nothing.
func TestInterruptKeepsEveryAcceptedByte(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const n = 1<<20 + 5 // not a multiple of the write buffer: its last bytes wait in it
	ctx, cancel := context.WithCancel(context.Background())
	obs := &cancelAfter{limit: n, cancel: cancel}
	ch := make(chan []Entry, 1)
	ch <- []Entry{{Source: "hold", URL: s.URL + fmt.Sprintf("/hold/%d/h", n), Path: filepath.Join(dir, "h")}}
	close(ch)
	st, err := Run(ctx, Config{Parallel: 1, Protocols: []string{"http"}}, ch, obs)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Interrupted || st.Unfinished != 1 || st.Failed != 0 {
		t.Fatalf("%+v", st)
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
