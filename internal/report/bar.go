package report

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// newBar builds the progress bar. Its own timers and estimates are turned
// off: the spinner ticker would write from a second goroutine behind our
// lock, and the time prediction is meaningless when entries vary wildly in
// size. Redraw pacing is done by the Reporter with the injected clock.
func newBar(o Options) *progressbar.ProgressBar {
	theme := progressbar.ThemeDefault
	if o.Color {
		// Colour the whole filled run once instead of every cell, which
		// would multiply the bytes written per redraw.
		theme.BarStart = "|[green]"
		theme.BarEnd = "[reset]|"
	}
	return progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(o.Err),
		progressbar.OptionEnableColorCodes(o.Color),
		progressbar.OptionSetWidth(barWidth(o.Width)),
		progressbar.OptionSetTheme(theme),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
}

// barWidth leaves room on the line for the percentage and the description,
// because a bar line that wraps can no longer be erased with a carriage return.
func barWidth(width int) int {
	return min(max(width/4, 10), 40)
}

// descWidth is what remains for the description after the percentage,
// the bar with its ends, and the separating spaces.
func descWidth(width int) int {
	return max(width-barWidth(width)-12, 20)
}

// drawBar redraws the bar with current counts. Callers hold r.mu.
func (r *Reporter) drawBar(now time.Time) {
	if r.bar == nil {
		return
	}
	// Describe first: Set renders, and must render the new description.
	r.bar.Describe(truncate(barText(r.done, r.total, r.totalKnown, r.active,
		r.bytes, r.meter.rate()), descWidth(r.o.Width)))
	if r.determinate {
		// Errors only say the count overshot the total; the bar is then full.
		_ = r.bar.Set(r.done)
	}
	r.lastDraw = now
}

// clearBar blanks the bar line so the next write starts at column 0.
func (r *Reporter) clearBar() {
	if r.bar != nil {
		_ = r.bar.Clear()
	}
}

// aboveBar prints a line where the bar was and draws the bar again below
// it, so finished entries scroll up while the bar stays at the bottom.
func (r *Reporter) aboveBar(line string) {
	r.clearBar()
	r.write(r.o.Err, line+"\n")
	if r.bar != nil {
		r.drawBar(r.now())
	}
}
