package report

import (
	"strconv"
	"strings"
	"time"
)

// bar is the live display at the bottom of the terminal: one to
// 1+engine.MaxLargest lines, redrawn in place. The cursor stays at the end
// of its last line, so a redraw goes back up over the lines drawn and
// writes each again. A frame is one write, each line overwritten and only
// then its tail erased (ESC[K): the terminal never shows a blank bar
// between two frames, which is what flickers.
type bar struct {
	lines int    // lines on the screen now; 0 when cleared
	last  string // the frame drawn, to skip a redraw that changes nothing
}

// home returns the cursor from the end of the drawn bar to its first
// column.
func (b *bar) home(sb *strings.Builder) {
	sb.WriteByte('\r')
	if b.lines > 1 {
		sb.WriteString("\x1b[" + strconv.Itoa(b.lines-1) + "A")
	}
}

// frame is what draws lines over the bar on screen, "" when nothing changes.
func (b *bar) frame(lines []string) string {
	text := strings.Join(lines, "\n")
	if b.lines == len(lines) && text == b.last {
		return ""
	}
	var sb strings.Builder
	if b.lines > 0 {
		b.home(&sb)
	}
	for i, l := range lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(l)
		sb.WriteString("\x1b[K")
	}
	if len(lines) < b.lines {
		sb.WriteString("\x1b[J") // the lines of the last frame below this one
	}
	b.lines, b.last = len(lines), text
	return sb.String()
}

// erase is what removes the bar, leaving the cursor where it started.
func (b *bar) erase() string {
	if b.lines == 0 {
		return ""
	}
	var sb strings.Builder
	b.home(&sb)
	sb.WriteString("\x1b[J")
	b.lines, b.last = 0, ""
	return sb.String()
}

func (r *Reporter) runState() runState {
	return runState{done: r.done, total: r.total, known: r.totalKnown, p: r.prog, bps: r.meter.rate()}
}

// drawBar redraws the bar with current counts. Callers hold r.mu.
func (r *Reporter) drawBar(now time.Time) {
	if r.bar == nil {
		return
	}
	if f := r.bar.frame(barLines(r.runState(), r.o.Width, r.o.Color)); f != "" {
		r.write(r.o.Err, f)
	}
	r.lastDraw = now
}

// SetWidth is the terminal's width after a resize (SIGWINCH): the bar is
// drawn afresh at it. Lines of the old frame that a narrower terminal
// wrapped may stay above the new one; the next frames fit.
func (r *Reporter) SetWidth(w int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w <= 0 || w == r.o.Width || r.finished {
		return
	}
	r.clearBar()
	r.o.Width = w
	r.drawBar(r.now())
}

// clearBar removes the bar so the next write starts at column 0 of the
// line where it began.
func (r *Reporter) clearBar() {
	if r.bar != nil {
		if f := r.bar.erase(); f != "" {
			r.write(r.o.Err, f)
		}
	}
}

// aboveBar prints a line where the bar was and draws the bar again below
// it, so finished entries scroll up while the bar stays at the bottom.
// Line, erase and frame go out in one write: nothing is seen in between.
func (r *Reporter) aboveBar(line string) {
	if r.bar == nil {
		r.write(r.o.Err, line+"\n")
		return
	}
	s := r.bar.erase() + line + "\n" + r.bar.frame(barLines(r.runState(), r.o.Width, r.o.Color))
	r.write(r.o.Err, s)
	r.lastDraw = r.now()
}
