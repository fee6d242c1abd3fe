package engine

import (
	"context"
	"fmt"
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
		fileIs(t, entries[i].Path, body(entries[i].Source, c.size))
	}
	noPartFiles(t, dir)
}
