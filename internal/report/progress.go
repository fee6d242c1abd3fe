package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rivo/uniseg"
	"github.com/schollz/progressbar/v3"

	"github.com/multiget/multiget/internal/engine"
)

// largeFile is the size from which a running file gets a bar line of its
// own: below it a file is done before its line could be read.
const largeFile = 8 << 20

// runState is what the progress display shows: the entries' count, the
// engine's latest snapshot and the measured speed.
type runState struct {
	done, total int
	known       bool // total is known (the lists have been counted)
	p           engine.Progress
	bps         float64
}

// estimate is the run's size and time left as far as they can be told.
type estimate struct {
	total  int64         // expected bytes of the whole run; 0 when not known
	exact  bool          // total is the sum of known sizes, not a guess
	frac   float64       // part done, 0..1; -1 when not known
	remain time.Duration // time left; -1 when not known
}

// estimateRun: once every entry still to finish is running with a known
// size, the total is exact. Before that, entries not started (and files of
// unknown size) are taken to be as large as the average of those whose
// size is known, so the total and the time left are shown as guesses.
func estimateRun(s runState) estimate {
	e := estimate{frac: -1, remain: -1}
	if !s.known || s.total <= 0 {
		return e
	}
	if s.done >= s.total {
		e.frac = 1
	} else {
		e.frac = float64(s.done) / float64(s.total)
	}
	queued := max(s.total-s.done-s.p.Running, 0)
	if counted := s.done + s.p.Running; counted > 0 && s.p.Expected > 0 {
		e.exact = queued == 0 && s.p.Unsized == 0
		e.total = s.p.Expected
		if !e.exact {
			mean := float64(s.p.Expected) / float64(counted)
			e.total += int64(mean * float64(queued+s.p.Unsized))
		}
		e.total = max(e.total, s.p.Bytes)
		// A byte count shows the progress of a few large files; an entry
		// count alone would sit at 0% through them.
		e.frac = float64(s.p.Bytes) / float64(e.total)
		if s.done < s.total {
			e.frac = min(e.frac, 0.99)
		}
		if s.bps > 0 {
			e.remain = time.Duration(float64(e.total-s.p.Bytes) / s.bps * float64(time.Second))
		}
	}
	return e
}

// withoutFile drops path from the running files of a snapshot taken
// before its result came. The slice is the engine's snapshot, shared with
// the queue: a new one is made rather than the old one changed.
func withoutFile(l []engine.FileProgress, path string) []engine.FileProgress {
	for i, f := range l {
		if f.Path == path {
			return append(append([]engine.FileProgress(nil), l[:i]...), l[i+1:]...)
		}
	}
	return l
}

// countText is "12/2000", or "12/?" while the list is still being read.
func countText(done, total int, known bool) string {
	if !known {
		return strconv.Itoa(done) + "/?"
	}
	return strconv.Itoa(done) + "/" + strconv.Itoa(total)
}

// sizePair is "1.2/4.0 GiB" ("512.0 MiB/4.0 GiB" across units); a guessed
// total reads "~4.0 GiB".
func sizePair(n, total int64, exact bool) string {
	a, b := FormatSize(n), FormatSize(total)
	if !exact {
		b = "~" + b
	}
	if i, j := strings.IndexByte(a, ' '), strings.IndexByte(b, ' '); i > 0 && j > 0 && a[i:] == b[j:] {
		a = a[:i]
	}
	return a + "/" + b
}

// etaText is a time left in whole seconds ("9s", "42s", "3m07s"): tenths
// of a guess would only flicker.
func etaText(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 10*time.Second {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return FormatDuration(d)
}

func percent(frac float64) string {
	return strconv.Itoa(int(math.Floor(frac*100))) + "%"
}

// progressParts are the figures of a progress line, most important first.
type progressParts struct {
	pct, count, bytes, speed, eta, active string
}

func partsOf(s runState) (progressParts, estimate) {
	e := estimateRun(s)
	pp := progressParts{
		count:  countText(s.done, s.total, s.known),
		bytes:  FormatSize(s.p.Bytes),
		speed:  FormatRate(s.bps),
		active: strconv.Itoa(s.p.Active) + " active",
	}
	if e.frac >= 0 {
		pp.pct = percent(e.frac)
	}
	if e.total > 0 {
		pp.bytes = sizePair(s.p.Bytes, e.total, e.exact)
	}
	if e.remain >= 0 {
		pp.eta = "ETA " + etaText(e.remain)
	}
	return pp, e
}

// variants are the main bar line's texts, richest first; the first that
// fits the terminal is drawn.
func (pp progressParts) variants() []string {
	join := func(head string, rest ...string) string {
		var b strings.Builder
		b.WriteString(head)
		for _, r := range rest {
			if r != "" {
				b.WriteString(" · ")
				b.WriteString(r)
			}
		}
		return b.String()
	}
	head := pp.count
	if pp.pct != "" {
		head = pp.pct + " " + pp.count
	}
	return []string{
		join(head, pp.bytes, pp.speed, pp.eta, pp.active),
		join(head, pp.bytes, pp.speed, pp.eta),
		// Narrow terminals (45 columns) keep every figure, closer together.
		strings.Join(nonEmpty(head, pp.bytes, pp.speed, pp.eta), " "),
		join(head, pp.speed, pp.eta),
		join(head, pp.eta),
		head,
	}
}

func nonEmpty(s ...string) []string {
	out := s[:0]
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// plainProgressText is the periodic progress line for logs that cannot
// redraw, with the bar's figures.
func plainProgressText(s runState) string {
	pp, _ := partsOf(s)
	line := "multiget: progress: " + pp.count + " done"
	if pp.pct != "" {
		line += " (" + pp.pct + ")"
	}
	line += ", " + pp.active + ", " + pp.bytes + ", " + pp.speed
	if pp.eta != "" {
		line += ", " + pp.eta
	}
	return line
}

// barLines renders the bar in at most width-1 columns (a line reaching
// the last column makes some terminals wrap, and a wrapped line can no
// longer be redrawn in place): a main line, then a line for each of the
// largest running files when they are large and the run has others.
func barLines(s runState, width int, color bool) []string {
	cols := max(width-1, 10)
	pp, e := partsOf(s)
	lines := []string{mainLine(pp, e, cols, color)}
	if s.known && s.total == 1 {
		return lines // the main line is that file's
	}
	for _, f := range s.p.Largest {
		if max(f.Size, f.Bytes) < largeFile {
			break
		}
		lines = append(lines, fileLine(f, cols))
	}
	return lines
}

// mainLine is "31% [=====>    ] 12/30 · 1.2/~4.0 GiB · 55.1 MiB/s · ETA 52s",
// losing the graphic bar and then the least important figures as the
// terminal narrows.
func mainLine(pp progressParts, e estimate, cols int, color bool) string {
	const minBar, maxBar = 12, 40
	vs := pp.variants()
	if e.frac >= 0 {
		// The graphic carries the percentage.
		rest := pp
		rest.pct = ""
		for _, v := range rest.variants()[:2] {
			if room := cols - uniseg.StringWidth(v) - len("100% ") - 1; room >= minBar {
				return graphic(e.frac, min(room, maxBar), color) + " " + v
			}
		}
	}
	for _, v := range vs {
		if uniseg.StringWidth(v) <= cols {
			return v
		}
	}
	return cut(vs[len(vs)-1], cols)
}

// graphicSteps is the resolution of the graphic's fraction.
const graphicSteps = 10000

// graphic is "31% [=====>    ]", the bar w columns wide, brackets
// included, drawn by github.com/schollz/progressbar/v3 into a string (it
// writes nowhere: multiget writes each frame of its lines itself, in one
// write, above which result lines are printed).
func graphic(frac float64, w int, color bool) string {
	theme := progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}
	if color {
		// One colour run over the filled part, not one per character.
		theme.BarStart, theme.SaucerHead, theme.BarEnd = "["+ansiGreen, ">"+ansiReset, ansiReset+"]"
	}
	b := progressbar.NewOptions64(graphicSteps,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetWidth(w-2),
		progressbar.OptionSetTheme(theme),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetRenderBlankState(true),
	)
	_ = b.Set64(int64(math.Floor(min(max(frac, 0), 1) * graphicSteps)))
	return strings.TrimSpace(strings.TrimPrefix(b.String(), "\r"))
}

// fileLine is "  45% 115.2/256.0 MiB  out/debian.iso", the path cut at
// its start (its end names the file) to fit.
func fileLine(f engine.FileProgress, cols int) string {
	head := "  " + FormatSize(f.Bytes)
	if f.Size > 0 {
		head = fmt.Sprintf("  %3s %s", percent(min(float64(f.Bytes)/float64(f.Size), 1)), sizePair(f.Bytes, f.Size, true))
	}
	head += "  "
	return cut(head+cutStart(Sanitize(f.Path), cols-uniseg.StringWidth(head)), cols)
}

// cut keeps the first n columns of s.
func cut(s string, n int) string {
	var b strings.Builder
	w := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		if w += g.Width(); w > n {
			break
		}
		b.WriteString(g.Str())
	}
	return b.String()
}

// cutStart keeps the last columns of s, at most n with the "…" that says
// the start is gone.
func cutStart(s string, n int) string {
	if uniseg.StringWidth(s) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	var parts []string
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		parts = append(parts, g.Str())
	}
	w, i := 0, len(parts)
	for i > 0 && w+uniseg.StringWidth(parts[i-1]) <= n-1 {
		i--
		w += uniseg.StringWidth(parts[i])
	}
	return "…" + strings.Join(parts[i:], "")
}
