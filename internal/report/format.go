package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/multiget/multiget/internal/engine"
)

// Sanitize makes s safe to print on a terminal or in a line-oriented log:
// control characters, invalid UTF-8 and the Unicode characters that can
// reorder or break displayed text are replaced by visible Go-style escapes.
// URLs, paths and error messages may come from hostile servers, so every
// such field goes through here before it is shown to a human.
func Sanitize(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isClean lets the common all-printable case skip the allocation.
func isClean(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafeRune reports runes that a terminal acts on instead of just drawing:
// C0/C1 controls (ESC starts ANSI sequences, U+009B is a one-byte CSI),
// line separators, and bidirectional overrides that can disguise a URL.
func unsafeRune(r rune) bool {
	if unicode.IsControl(r) {
		return true
	}
	switch r {
	case '\u2028', '\u2029', '\u061c', '\u200e', '\u200f':
		return true
	}
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

var iecUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// FormatSize renders a byte count in IEC units: "512 B", "8.0 KiB",
// "15.6 MiB". Negative counts are shown as 0 because they only arise from
// a confused caller and a minus sign would be more misleading than helpful.
func FormatSize(n int64) string {
	if n < 1024 {
		if n < 0 {
			n = 0
		}
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	u := 0
	for v >= 1024 && u < len(iecUnits)-1 {
		v /= 1024
		u++
	}
	// Rounding to one decimal can reach 1024.0; promote so the text never
	// shows a value that belongs to the next unit.
	if math.Round(v*10)/10 >= 1024 && u < len(iecUnits)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + iecUnits[u]
}

// FormatRate renders bytes per second, e.g. "4.1 MiB/s".
func FormatRate(bytesPerSec float64) string {
	if math.IsNaN(bytesPerSec) || bytesPerSec < 0 {
		bytesPerSec = 0
	}
	if bytesPerSec > math.MaxInt64/2 {
		bytesPerSec = math.MaxInt64 / 2
	}
	return FormatSize(int64(math.Round(bytesPerSec))) + "/s"
}

// FormatDuration renders a duration with just enough precision to be read
// at a glance: "12ms", "1.2s", "42s", "3m07s", "1h02m03s".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < 10*time.Second:
		// Truncate like the other buckets so 9.96s never reads as "10.0s".
		return strconv.FormatFloat(d.Truncate(100*time.Millisecond).Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int64(d/time.Minute), int64(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh%02dm%02ds", int64(d/time.Hour),
			int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second))
	}
}

// rate is bytes per second over d, 0 when d is too short to mean anything.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 || n <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// field sanitises a value and keeps the column count stable when it is
// empty, so that whitespace-splitting tools still see the same shape.
func field(s string) string {
	if s == "" {
		return "-"
	}
	return Sanitize(s)
}

// tag is the fixed-width first column; the width fits the longest status
// word so the sources line up in a terminal.
func tag(st engine.Status) string {
	switch st {
	case engine.StatusOK:
		return "ok"
	case engine.StatusFailed:
		return "FAILED"
	case engine.StatusSkipped:
		return "skipped"
	case engine.StatusUnchanged:
		return "unchanged"
	case engine.StatusInvalid:
		return "INVALID"
	case engine.StatusPlanned:
		return "planned"
	case engine.StatusInterrupted:
		return "INTERRUPTED"
	}
	return field(string(st))
}

// isBad reports results the user must notice. Unknown statuses count as
// bad so that an engine bug is never silently filed under success.
func isBad(st engine.Status) bool {
	return st != engine.StatusOK && st != engine.StatusSkipped && st != engine.StatusPlanned && st != engine.StatusUnchanged
}

// reason is the failure text, with a fallback so the line never ends in
// an empty message.
func reason(res engine.Result) string {
	switch {
	case res.Error != "":
		return Sanitize(res.Error)
	case res.Status == engine.StatusInvalid:
		return "invalid entry"
	case res.HTTPCode >= 400:
		return "HTTP " + strconv.Itoa(res.HTTPCode)
	case res.CurlCode != 0:
		return "curl error " + strconv.Itoa(res.CurlCode)
	}
	return "failed"
}

// Line is the human-readable, single-line report of one result. Every
// field is sanitised, so the returned string never contains a newline or
// an escape sequence.
func Line(res engine.Result) string {
	head := fmt.Sprintf("%-7s %s  %s", tag(res.Status), field(res.Source), field(RedactURL(res.URL)))
	switch res.Status {
	case engine.StatusOK:
		code := "-"
		if res.HTTPCode != 0 {
			code = strconv.Itoa(res.HTTPCode)
		}
		line := fmt.Sprintf("%s -> %s  %s %s %s", head, field(res.Path),
			FormatSize(res.Bytes), code, FormatDuration(res.Duration))
		line += attemptsNote(res)
		for _, algo := range []string{"sha512", "sha256", "sha1", "md5"} {
			if _, ok := res.Verified[algo]; ok {
				line += " " + algo + " ok"
			}
		}
		return line
	case engine.StatusSkipped:
		line := head + " -> " + field(res.Path)
		if res.Error != "" {
			line += "  (" + Sanitize(res.Error) + ")"
		}
		return line
	case engine.StatusUnchanged:
		return head + " -> " + field(res.Path) + "  (not modified)"
	case engine.StatusInvalid:
		return head + ": " + reason(res)
	case engine.StatusPlanned:
		return head + " -> " + field(res.Path)
	}
	if res.Path != "" {
		head += " -> " + Sanitize(res.Path)
	}
	return head + ": " + reason(res)
}

// escapeJSON rewrites runes that encoding/json leaves raw but a terminal
// would act on (DEL, C1 controls, bidi overrides) as \u escapes. They can
// only occur inside JSON strings, so the decoded values are unchanged and
// someone running the output through cat is still safe.
func escapeJSON(s string) string {
	if isClean(strings.TrimSuffix(s, "\n")) {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if c != '\n' && unsafeRune(c) {
			fmt.Fprintf(&b, `\u%04x`, c)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiReset  = "\x1b[0m"
)

// colorLine decorates an already sanitised line; colour is added only
// after sanitising so the escapes here are the only ones on the line.
func colorLine(st engine.Status, line string) string {
	if st == engine.StatusInterrupted {
		return ansiYellow + line + ansiReset
	}
	if isBad(st) {
		return ansiRed + line + ansiReset
	}
	if st == engine.StatusOK && strings.HasPrefix(line, "ok") {
		return ansiGreen + "ok" + ansiReset + line[2:]
	}
	return line
}

// summaryLines renders the end-of-run summary. With colour, a non-zero
// failure count is red so it stands out from a wall of successes.
func summaryLines(s Summary, color bool) []string {
	failed := fmt.Sprintf("%d failed", s.Failed)
	if color && s.Failed > 0 {
		failed = ansiRed + failed + ansiReset
	}
	if s.DryRun {
		// Nothing was transferred: no bytes, no speed.
		return []string{fmt.Sprintf("multiget: dry run: %d planned, %d invalid", s.OK, s.Invalid)}
	}
	counts := fmt.Sprintf("%d ok, %s, %d skipped, %d invalid", s.OK, failed, s.Skipped, s.Invalid)
	if s.Unchanged > 0 {
		counts = fmt.Sprintf("%d ok, %d unchanged, %s, %d skipped, %d invalid", s.OK, s.Unchanged, failed, s.Skipped, s.Invalid)
	}
	if s.Unfinished > 0 {
		// Counted apart from failures: a rerun with -c finishes them.
		n := fmt.Sprintf("%d interrupted", s.Unfinished)
		if color {
			n = ansiYellow + n + ansiReset
		}
		counts += ", " + n
	}
	first := fmt.Sprintf("multiget: %s · %s in %s", counts, FormatSize(s.Bytes), FormatDuration(s.Elapsed))
	if s.Elapsed > 0 {
		first += " (" + FormatRate(rate(s.Bytes, s.Elapsed)) + ")"
	}
	lines := []string{first}
	switch {
	case (s.Interrupted || s.Stopped != "") && s.NotStarted <= 0:
		// No count when there is none to give: the rest of a list still
		// open (stdin) was never read, and every entry read has its result.
		lines = append(lines, "multiget: "+s.stopWord())
	case s.Interrupted || s.Stopped != "":
		lines = append(lines, "multiget: "+s.stopWord()+": "+notStarted(s.NotStarted))
	case s.FailFast && s.NotStarted > 0:
		lines = append(lines, "multiget: stopped by --fail-fast: "+notStarted(s.NotStarted))
	case s.FailFast:
		lines = append(lines, "multiget: stopped by --fail-fast")
	}
	return lines
}

func (s Summary) stopWord() string {
	if s.Stopped != "" {
		return "stopped: " + s.Stopped
	}
	return "interrupted"
}

func notStarted(n int) string {
	if n == 1 {
		return "1 entry not started"
	}
	return strconv.Itoa(n) + " entries not started"
}

// attemptsNote says how an ok entry got there when it took more than one
// transfer: " after N attempts", or for a split download " in N ranges",
// with how many transfers it retried beyond the first of each range and
// the probe.
func attemptsNote(res engine.Result) string {
	if res.Ranges == 0 {
		if res.Attempts > 1 {
			return fmt.Sprintf(" after %d attempts", res.Attempts)
		}
		return ""
	}
	note := fmt.Sprintf(" in %d ranges", res.Ranges)
	if extra := res.Attempts - res.Ranges - 1; extra > 0 {
		note += fmt.Sprintf(" (%d retried)", extra)
	}
	return note
}
