package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestParseTuning(t *testing.T) {
	all := Tuning{true, true, true, true, true, true, true}
	cases := []struct {
		in   string
		want Tuning
		bad  string // a word the error must name
	}{
		{"", Tuning{}, ""},
		{"all", all, ""},
		{"writers", Tuning{}, "writers"},
		{"pause", Tuning{}, "pause"},
		{"cork", Tuning{}, "cork"},
		{"unnamed", Tuning{NoUnnamed: true}, ""},
		{"handover", Tuning{NoHandover: true}, ""},
		{"earlymux", Tuning{NoEarlyMux: true}, ""},
		{"streamprobe,earlymux", Tuning{NoEarlyMux: true, NoStreamProbe: true}, ""},
		{"ramp", Tuning{NoRamp: true}, ""},
		{"smallbuf", Tuning{NoSmallBuffers: true}, ""},
		{"bigbuf", Tuning{NoBigBuffers: true}, ""},
		{"bigbuf,unnamed", Tuning{NoBigBuffers: true, NoUnnamed: true}, ""},
		{" Unnamed , HANDOVER ,", Tuning{NoUnnamed: true, NoHandover: true}, ""},
		{"unnamed,all", all, ""},
		{"splice", Tuning{}, "splice"},
		{"bigbuf,handovers", Tuning{}, "handovers"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			got, err := ParseTuning(c.in)
			if c.bad != "" {
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.bad)) ||
					!strings.Contains(err.Error(), "all, unnamed, handover, earlymux, streamprobe, ramp, smallbuf, bigbuf") {
					t.Fatalf("ParseTuning(%q) = %+v, %v; want an error naming %q and the valid words", c.in, got, err, c.bad)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseTuning(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
		})
	}
}

// mixedEntries returns entries that take every path of the C side: empty,
// tiny and handed-over small bodies, bodies around the write buffer's size
// and far beyond it, a chunked one, and a response without
// Content-Length; each saved under dir.
func mixedEntries(s *server, dir string) (entries []Entry, sizes []int) {
	add := func(route string, n int) {
		name := fmt.Sprintf("m%d", len(entries))
		entries = append(entries, Entry{Source: name, URL: fmt.Sprintf("%s/%s/%d/%s", s.URL, route, n, name),
			Path: filepath.Join(dir, "sub", name)})
		sizes = append(sizes, n)
	}
	for _, n := range []int{0, 1, 1000, 5000, 9000, 256 << 10, 256<<10 + 1, 5<<20 + 3, 23 << 20} {
		add("size", n)
	}
	add("chunked", 3<<20+7)
	add("chunked", 700)
	return entries, sizes
}

// Every switch of MULTIGET_OFF, alone and all together, takes a plain path
// that delivers the same whole files, over HTTP/1.1 and over HTTP/2.
func TestEverySwitchDeliversWholeFiles(t *testing.T) {
	s := newServer(t)
	h2dir := t.TempDir()
	h2, ca, _ := h2Server(t, h2dir, h2Only(3000))
	for _, off := range append([]string{"", "all"}, tuningWords()...) {
		t.Run("off="+off, func(t *testing.T) {
			tu, err := ParseTuning(off)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			entries, sizes := mixedEntries(s, dir)
			rec, st := run(t, context.Background(), Config{Parallel: 6, Tuning: tu}, entries)
			if st.OK != len(entries) {
				t.Fatalf("ok=%d, want %d: %+v", st.OK, len(entries), rec.results)
			}
			for i, en := range entries {
				fileIs(t, en.Path, body(en.Source, sizes[i]))
			}
			noPartFiles(t, dir)

			h2entries := smallFiles(h2, dir, 40)
			_, st = run(t, context.Background(), Config{Parallel: 8, CACert: ca, Protocols: []string{"https"}, Tuning: tu}, h2entries)
			if st.OK != len(h2entries) {
				t.Fatalf("HTTP/2: %+v", st)
			}
			checkSmallFiles(t, h2entries, 3000)
		})
	}
}

// Runs in one process take turns, each with its own files and results: a
// second Run started while the first waits on its server gets nowhere
// until the first has returned, and neither sees the other's results.
func TestConcurrentRunsTakeTurns(t *testing.T) {
	s := newServer(t)
	var entriesA, entriesB []Entry
	dirA, dirB := t.TempDir(), t.TempDir()
	for i := range 30 {
		n := fmt.Sprintf("a%d", i)
		route := "size"
		if i == 0 {
			route = "gate" // holds run A until the test opens the gate
		}
		entriesA = append(entriesA, Entry{Source: n, URL: fmt.Sprintf("%s/%s/%d/%s", s.URL, route, 100*i+1, n), Path: filepath.Join(dirA, n)})
		n = fmt.Sprintf("b%d", i)
		entriesB = append(entriesB, Entry{Source: n, URL: fmt.Sprintf("%s/size/%d/%s", s.URL, 100*i+2, n), Path: filepath.Join(dirB, n)})
	}
	recA, recB := &recorder{}, &recorder{}
	var wg sync.WaitGroup
	var stA, stB Stats
	wg.Add(1)
	go func() {
		defer wg.Done()
		stA = runObserved(t, context.Background(), Config{Parallel: 4}, entriesA, recA)
	}()
	// Run A is under way: its other entries are done, the gated one waits.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		recA.mu.Lock()
		n := len(recA.results)
		recA.mu.Unlock()
		if n == len(entriesA)-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run A finished %d entries, want %d before the gate opens", n, len(entriesA)-1)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		stB = runObserved(t, context.Background(), Config{Parallel: 4}, entriesB, recB)
	}()
	time.Sleep(200 * time.Millisecond)
	recB.mu.Lock()
	early := len(recB.results)
	recB.mu.Unlock()
	s.openGate()
	wg.Wait()
	if early != 0 {
		t.Errorf("run B had %d results while run A was still running", early)
	}
	for _, c := range []struct {
		name    string
		st      Stats
		rec     *recorder
		entries []Entry
	}{{"A", stA, recA, entriesA}, {"B", stB, recB, entriesB}} {
		if c.st.OK != len(c.entries) || len(c.rec.results) != len(c.entries) {
			t.Errorf("run %s: %+v, %d results, want %d ok", c.name, c.st, len(c.rec.results), len(c.entries))
		}
		mine := map[string]bool{}
		for _, en := range c.entries {
			mine[en.Source] = true
		}
		for _, r := range c.rec.results {
			if !mine[r.Source] || r.Status != StatusOK {
				t.Errorf("run %s got %+v", c.name, r)
			}
		}
		for i, en := range c.entries {
			fileIs(t, en.Path, body(en.Source, 100*i+1+map[string]int{"A": 0, "B": 1}[c.name]))
		}
	}
}
