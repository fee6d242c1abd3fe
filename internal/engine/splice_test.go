package engine

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// fileIs fails the test unless path holds want.
func fileIs(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes, want %d, or the content differs", filepath.Base(path), len(got), len(want))
	}
}

// Large HTTP/1.1 bodies with a Content-Length go from the socket to the
// file by splice (xfer.c), and arrive byte for byte, whatever their size
// against the buffers and the pipes; a chunked body takes the buffered
// path. With splicing off, nothing is spliced and the files are the same.
func TestSplicedBodiesAreByteExact(t *testing.T) {
	s := newServer(t)
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("splice=%v", on), func(t *testing.T) {
			enableSplice(on)
			t.Cleanup(func() { enableSplice(true) })
			dir := t.TempDir()
			sizes := []int{256<<10 + 1, 5<<20 + 123, 23<<20 + 7, 512<<10 - 3}
			var entries []Entry
			for i, n := range sizes {
				name := fmt.Sprintf("s%d", i)
				entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/size/%d/%s", s.URL, n, name), Path: filepath.Join(dir, name)})
			}
			entries = append(entries, Entry{Source: "c", URL: s.URL + "/chunked/3145735/c", Path: filepath.Join(dir, "c")})
			before := splicedBytes()
			_, st := run(t, context.Background(), Config{Parallel: len(entries)}, entries)
			if st.OK != len(entries) {
				t.Fatalf("%+v", st)
			}
			spliced := splicedBytes() - before
			switch {
			case on && spliced < 16<<20:
				// 23 MiB alone: all but the first buffers and the tail.
				t.Errorf("%d bytes spliced, want most of the 28 MiB with a Content-Length", spliced)
			case !on && spliced != 0:
				t.Errorf("%d bytes spliced with splicing off", spliced)
			}
			for i, n := range sizes {
				fileIs(t, entries[i].Path, body(entries[i].Source, n))
			}
			fileIs(t, entries[len(sizes)].Path, body("c", 3145735))
		})
	}
}

// Over TLS libcurl's reads go to OpenSSL, not into its own buffer: the
// transfer learns that from its first plain recv and never splices.
func TestNoSpliceOverTLS(t *testing.T) {
	dir := t.TempDir()
	const n = 6 << 20
	srv, ca, _ := tlsServer(t, dir, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(n))
		_, _ = w.Write(body("tls", n))
	}), false)
	before := splicedBytes()
	_, st := run(t, context.Background(), Config{Parallel: 1, CACert: ca, Protocols: []string{"https"}},
		[]Entry{{Source: "tls", URL: srv.URL + "/tls", Path: filepath.Join(dir, "tls")}})
	if st.OK != 1 {
		t.Fatalf("%+v", st)
	}
	if d := splicedBytes() - before; d != 0 {
		t.Errorf("%d bytes spliced over TLS", d)
	}
	fileIs(t, filepath.Join(dir, "tls"), body("tls", n))
}

// A spliced body ends exactly at its Content-Length: the next responses on
// the same connection, read by the same handle into the same buffer, are
// libcurl's to parse. At -j 1 every entry reuses the connection and the
// handle; large and small bodies alternate.
func TestSplicedConnectionIsReused(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	sizes := []int{3<<20 + 1, 10, 2 << 20, 0, 1, 4<<20 - 1, 70000, 3 << 20}
	var entries []Entry
	for i, n := range sizes {
		name := fmt.Sprintf("r%d", i)
		entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/size/%d/%s", s.URL, n, name), Path: filepath.Join(dir, name)})
	}
	before := splicedBytes()
	_, st := run(t, context.Background(), Config{Parallel: 1}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	if splicedBytes() == before {
		t.Errorf("nothing was spliced")
	}
	for i, n := range sizes {
		fileIs(t, entries[i].Path, body(entries[i].Source, n))
	}
}

// A connection reset in the middle of a spliced body: the pieces already
// spliced reach the file before the retry resumes after them, and the file
// is whole.
func TestSplicedBodyResumesAfterReset(t *testing.T) {
	s := faultServer(t)
	const size = 9 << 20
	path := filepath.Join(t.TempDir(), "rs")
	before := splicedBytes()
	rec, _ := run(t, context.Background(), retryCfg(), []Entry{
		{Source: "rs", URL: s.URLFor(fmt.Sprintf("/rst/%d/1/%d/rs", 5<<20, size)), Path: path},
	})
	if r := rec.results[0]; r.Status != StatusOK || r.Attempts != 2 {
		t.Fatalf("%+v", r)
	}
	if splicedBytes() == before {
		t.Errorf("nothing was spliced")
	}
	if starts := rangeStarts(s, "rs"); len(starts) != 1 || starts[0] == 0 || starts[0] > 5<<20 {
		t.Errorf("the retry asked for ranges from %v, want one after the bytes kept", starts)
	}
	wantWhole(t, path, "rs", size)
}

// The ranges of a split download are spliced too, each up to its limit and
// no further (the next range's bytes belong to another transfer).
func TestSplitRangesAreSpliced(t *testing.T) {
	s := faultServer(t)
	const size = 12 << 20
	before := splicedBytes()
	r, path := splitOne(t, s, 3, "/throttle/8000000/", size, "spl")
	if r.Status != StatusOK || r.Bytes != size {
		t.Fatalf("%+v", r)
	}
	if splicedBytes() == before {
		t.Errorf("nothing was spliced")
	}
	if starts := rangeStarts(s, "spl"); len(starts) != 3 {
		t.Errorf("range requests start at %v, want 3", starts)
	}
	wantWhole(t, path, "spl", size)
}
