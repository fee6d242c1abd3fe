package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"

	"github.com/multiget/multiget/internal/engine"
)

const mib = 1 << 20

// Four 256 MiB files all running: the total is exact and the share done is
// a share of bytes, not of entries (which would read 0% until one ends).
func TestEstimateExact(t *testing.T) {
	p := engine.Progress{Running: 4, Active: 4, Bytes: 256 * mib, Expected: 1024 * mib}
	e := estimateRun(runState{total: 4, known: true, p: p, bps: 32 * mib})
	if !e.exact || e.total != 1024*mib || e.frac != 0.25 || e.remain != 24*time.Second {
		t.Errorf("%+v, want exact 1 GiB, 25%%, 24s left", e)
	}
}

// Entries not started are guessed at the average size of those known.
func TestEstimateGuess(t *testing.T) {
	// 10 done and 2 running: 120 MiB known over 12 entries, 8 to come.
	p := engine.Progress{Running: 2, Active: 2, Bytes: 110 * mib, Expected: 120 * mib}
	e := estimateRun(runState{done: 10, total: 20, known: true, p: p, bps: 10 * mib})
	if e.exact || e.total != 200*mib {
		t.Errorf("total %d exact %v, want a guess of 200 MiB", e.total, e.exact)
	}
	if e.remain != 9*time.Second {
		t.Errorf("remain %v, want 9s", e.remain)
	}
	// Nothing known of the list's size yet: entries only, no time left.
	// The guess is shown as one.
	s := runState{done: 10, total: 20, known: true, p: p, bps: 10 * mib}
	if l := barLines(s, 80, false)[0]; !(strings.HasPrefix(l, "55% [") && strings.HasSuffix(l, "] 10/20 · 110.0/~200.0 MiB · 10.0 MiB/s · ETA 9s · 2 active")) {
		t.Errorf("guessed total: %q", l)
	}
	e = estimateRun(runState{done: 1, total: 4, known: true})
	if e.total != 0 || e.frac != 0.25 || e.remain != -1 {
		t.Errorf("%+v, want 25%% of entries and no estimate", e)
	}
	// The list still being read: nothing to estimate against.
	e = estimateRun(runState{done: 1, p: p, bps: 1})
	if e.frac != -1 || e.remain != -1 || e.total != 0 {
		t.Errorf("%+v, want no estimate while the total is unknown", e)
	}
}

func TestSizePair(t *testing.T) {
	for _, tc := range []struct {
		n, total int64
		exact    bool
		want     string
	}{
		{1229 * mib / 10 * 10, 4096 * mib, true, "1.2/4.0 GiB"},
		{512 * mib, 4096 * mib, false, "512.0 MiB/~4.0 GiB"},
		{0, 100, true, "0/100 B"},
	} {
		if got := sizePair(tc.n, tc.total, tc.exact); got != tc.want {
			t.Errorf("sizePair(%d, %d, %v) = %q, want %q", tc.n, tc.total, tc.exact, got, tc.want)
		}
	}
}

// The bar fits every width with its most useful figures, one line per
// large running file below the main one.
func TestBarLinesWidths(t *testing.T) {
	p := engine.Progress{Running: 3, Active: 3, Bytes: 300 * mib, Expected: 900 * mib, Largest: []engine.FileProgress{
		{Path: "out/debian-12.10.0-amd64-DVD-1.iso", Bytes: 150 * mib, Size: 400 * mib},
		{Path: "out/ubuntu.iso", Bytes: 100 * mib, Size: 300 * mib},
		{Path: "out/small", Bytes: 1 * mib, Size: 2 * mib},
	}}
	s := runState{done: 7, total: 10, known: true, p: p, bps: 20 * mib}
	for _, tc := range []struct {
		width int
		main  string // the main line, graphic bar aside
	}{
		{120, "] 7/10 · 300.0/900.0 MiB · 20.0 MiB/s · ETA 30s · 3 active"},
		{80, "] 7/10 · 300.0/900.0 MiB · 20.0 MiB/s · ETA 30s · 3 active"},
		{45, "33% 7/10 300.0/900.0 MiB 20.0 MiB/s ETA 30s"},
		{20, "33% 7/10 · ETA 30s"},
	} {
		lines := barLines(s, tc.width, false)
		if len(lines) != 3 {
			t.Errorf("width %d: %d lines, want the main one and two large files:\n%s", tc.width, len(lines), strings.Join(lines, "\n"))
			continue
		}
		for _, l := range lines {
			if w := uniseg.StringWidth(l); w > tc.width-1 {
				t.Errorf("width %d: a line of %d columns: %q", tc.width, w, l)
			}
		}
		if !strings.HasSuffix(lines[0], tc.main) {
			t.Errorf("width %d: main line %q, want it to end %q", tc.width, lines[0], tc.main)
		}
		if hasBar := strings.HasPrefix(lines[0], "33% ["); hasBar != (tc.width >= 80) {
			t.Errorf("width %d: graphic bar %v: %q", tc.width, hasBar, lines[0])
		}
		if tc.width >= 45 && (!strings.HasPrefix(lines[1], "  37% 150.0/400.0 MiB  ") || !strings.HasSuffix(lines[1], "amd64-DVD-1.iso")) {
			t.Errorf("width %d: file line %q", tc.width, lines[1])
		}
	}
	// At 45 columns the long path loses its start, not its name.
	if l := barLines(s, 45, false)[1]; !strings.Contains(l, "…") {
		t.Errorf("path not shortened at 45 columns: %q", l)
	}
	// A single entry: the main line is that file's.
	one := runState{total: 1, known: true, p: engine.Progress{Running: 1, Bytes: 10 * mib, Expected: 100 * mib, Largest: p.Largest[:1]}}
	if lines := barLines(one, 80, false); len(lines) != 1 {
		t.Errorf("one entry: %q, want the main line alone", lines)
	}
}

func TestCutStart(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"out/a.iso", 20, "out/a.iso"},
		{"out/long/name.iso", 9, "…name.iso"},
		{"out/日本語.iso", 8, "…語.iso"},
		{"abc", 1, ""},
	} {
		if got := cutStart(tc.in, tc.n); got != tc.want {
			t.Errorf("cutStart(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// A redraw goes back over exactly the lines drawn, and a frame that
// changes nothing is not written.
func TestBarFrames(t *testing.T) {
	var b bar
	if got := b.frame([]string{"a", "b", "c"}); got != "a\x1b[K\nb\x1b[K\nc\x1b[K" {
		t.Errorf("first frame %q", got)
	}
	if got := b.frame([]string{"a", "b", "c"}); got != "" {
		t.Errorf("an unchanged frame was written again: %q", got)
	}
	if got := b.frame([]string{"x"}); got != "\r\x1b[2Ax\x1b[K\x1b[J" {
		t.Errorf("shrinking frame %q", got)
	}
	if got := b.erase(); got != "\r\x1b[J" || b.lines != 0 {
		t.Errorf("erase %q, lines %d", got, b.lines)
	}
	if got := b.erase(); got != "" {
		t.Errorf("erasing nothing wrote %q", got)
	}
}
