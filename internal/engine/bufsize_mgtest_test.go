//go:build mgtest

package engine

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// One transfer at a time from one host: six small files, two large ones,
// three small. On libcurl before 8.7 the fifth small file on gets the small
// buffer, and so does the first large file, which arrives whole through
// it; the second large file and the small ones after it get the large
// buffer again (2 MiB: one transfer runs at a time). From 8.7 on (and with
// the switch off) every transfer gets the large one.
func TestBuffersFollowTheHostsBodies(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%v", off), func(t *testing.T) {
			s := newServer(t)
			dir := t.TempDir()
			sizes := []int{1000, 1000, 1000, 1000, 1000, 1000, 3 << 20, 3 << 20, 1000, 1000, 1000}
			var entries []Entry
			for i, n := range sizes {
				name := fmt.Sprintf("f%d", i)
				entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/size/%d/%s", s.URL, n, name),
					Path: filepath.Join(dir, name)})
			}
			var mu sync.Mutex
			asked := map[string]int{}
			onBuffer = func(url string, size int) {
				mu.Lock()
				asked[url] = size
				mu.Unlock()
			}
			defer func() { onBuffer = nil }()
			_, st := run(t, context.Background(), Config{Parallel: 1, Tuning: Tuning{NoSmallBuffers: off}}, entries)
			if st.OK != len(entries) {
				t.Fatalf("%+v", st)
			}
			checkFiles(t, entries, sizes)
			const L, S = bigBuffer, smallBody
			want := []int{L, L, L, L, S, S, S, L, L, L, L}
			if off || Lib().Num >= 0x080700 {
				want = []int{L, L, L, L, L, L, L, L, L, L, L}
			}
			var got []int
			for _, en := range entries {
				got = append(got, asked[en.URL])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("libcurl %s, switch off %v: buffers %v, want %v", Lib().Version, off, got, want)
			}
		})
	}
}

// Transfers of whole files started while fewer than 8 run ask for 2 MiB,
// those started while more run for 512 KiB, and so does every transfer of
// a split download, whatever runs; with bigbuf off none asks for 2 MiB.
// Every file arrives whole either way.
func TestBigBuffersWhileFewRun(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%v", off), func(t *testing.T) {
			s := newServer(t)
			dir := t.TempDir()
			var entries []Entry
			var sizes []int
			for i := range 24 {
				n := 300_000 + i // larger than the small buffer's bodies
				name := fmt.Sprintf("f%d", i)
				entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/size/%d/%s", s.URL, n, name),
					Path: filepath.Join(dir, name)})
				sizes = append(sizes, n)
			}
			var mu sync.Mutex
			asked := map[int]int{}
			onBuffer = func(_ string, size int) {
				mu.Lock()
				asked[size]++
				mu.Unlock()
			}
			defer func() { onBuffer = nil }()
			s.wave.Set(16) // none of the first 16 ends before all 16 run
			_, st := run(t, context.Background(), Config{Parallel: 16, Tuning: Tuning{NoBigBuffers: off}}, entries)
			if st.OK != len(entries) {
				t.Fatalf("%+v", st)
			}
			checkFiles(t, entries, sizes)
			// The first 16 all run before any ends: 8 start while fewer
			// than 8 run, 8 beside them; the rest start as others end.
			big, large := asked[bigBuffer], asked[largeBuffer]
			if off {
				big, large = large, big
				if large != 0 || big != len(entries) {
					t.Errorf("bigbuf off: %d transfers asked for 2 MiB and %d for 512 KiB, want 0 and %d", large, big, len(entries))
				}
				return
			}
			if big < 8 || large < 8 || big+large != len(entries) {
				t.Errorf("%d transfers asked for 2 MiB and %d for 512 KiB (%v), want at least 8 of each and %d in all",
					big, large, asked, len(entries))
			}
		})
	}
	t.Run("ranges", func(t *testing.T) {
		s := faultServer(t)
		const size = 3 << 20
		var mu sync.Mutex
		asked := map[string][]int{}
		onBuffer = func(url string, size int) {
			mu.Lock()
			asked[url] = append(asked[url], size)
			mu.Unlock()
		}
		defer func() { onBuffer = nil }()
		r, path := splitOne(t, s, 4, "/throttle/4000000/", size, "sp")
		if r.Status != StatusOK || r.Ranges != 4 {
			t.Fatalf("%+v", r)
		}
		wantWhole(t, path, "sp", size)
		var got []int
		for _, sizes := range asked {
			got = append(got, sizes...)
		}
		// The probe and each of the 4 ranges ask 512 KiB.
		if n := len(got); n != 5 || countOf(got, largeBuffer) != 5 {
			t.Errorf("buffers asked %v, want five of 512 KiB (the probe and the ranges)", got)
		}
	})
}

func countOf(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}

// Over HTTP/2, many streams on one connection at once, large bodies among
// small ones: every file arrives whole, and no stream asks for the small
// buffer (a stream's handle keeps its buffer, so there is nothing to save).
func TestNoSmallBuffersForStreams(t *testing.T) {
	dir := t.TempDir()
	srv, ca, _ := tlsServer(t, dir, sizeHandler(), true)
	var entries []Entry
	var sizes []int
	for i := range 60 {
		n := 2000
		if i%10 == 9 {
			n = 2 << 20
		}
		name := fmt.Sprintf("f%d", i)
		entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/size/%d/%s", srv.URL, n, name),
			Path: filepath.Join(dir, "out", name)})
		sizes = append(sizes, n)
	}
	var mu sync.Mutex
	var small []string
	onBuffer = func(url string, size int) {
		if size == smallBody {
			mu.Lock()
			small = append(small, url)
			mu.Unlock()
		}
	}
	defer func() { onBuffer = nil }()
	_, st := run(t, context.Background(), Config{Parallel: 4, CACert: ca, Protocols: []string{"https"}}, entries)
	if st.OK != len(entries) {
		t.Fatalf("%+v", st)
	}
	checkFiles(t, entries, sizes)
	if len(small) != 0 {
		t.Errorf("%d transfers to a multiplexing host asked for the small buffer, want none: %v", len(small), small)
	}
}

// sizeHandler serves /size/N/NAME as newServer does: N bytes of
// body(NAME, N), with their Content-Length.
func sizeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/size/"), "/", 2)
		n, _ := strconv.Atoi(parts[0])
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write(body(parts[1], n))
	})
}

// checkFiles fails unless entry i is saved with the sizes[i] bytes of
// body(its Source, sizes[i]).
func checkFiles(t *testing.T, entries []Entry, sizes []int) {
	t.Helper()
	for i, en := range entries {
		fileIs(t, en.Path, body(en.Source, sizes[i]))
	}
}
