// Package report turns engine events into everything the user sees about a
// run: one greppable line per entry, optional JSON records, a progress bar
// or periodic progress lines, and a closing summary. It writes only to the
// writers it is given, so the caller decides what is a terminal.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"sync"
	"syscall"
	"time"

	"github.com/multiget/multiget/internal/engine"
)

// Mode selects how progress is displayed.
type Mode int

const (
	// ModeNone shows no progress; entry lines go to Out.
	ModeNone Mode = iota
	// ModeBar draws a live bar on Err with entry lines printed above it.
	ModeBar
	// ModePlain writes entry lines to Out and a progress line to Err every
	// few seconds, for logs that cannot redraw.
	ModePlain
)

// Options configures a Reporter.
type Options struct {
	Out, Err io.Writer // stdout, stderr; nil discards
	Mode     Mode      // progress display; ModeBar draws on Err
	JSON     bool      // one JSON object per entry on Out, nothing else on Out
	// JSONSummary ends Out with one summary record (summary.go).
	JSONSummary bool
	Quiet       bool // no result lines but failures (progress is Mode's)
	Color       bool // colour allowed (used only by ModeBar)
	Width       int  // terminal width for the bar, 0 = 80
	// GitHub makes the stderr copy of each failed or invalid entry a
	// GitHub Actions ::error:: annotation (stderr keeps --json stdout
	// clean, and the runner reads workflow commands from both).
	GitHub bool
	// SameDest says Out and Err reach the same place (2>&1, one
	// terminal): failures are then not copied to Err, and the bar is
	// cleared before anything is written to Out.
	SameDest bool
	Now      func() time.Time // clock; nil = time.Now
	// Broken, when set, is called once, at the first write to Out or Err
	// that fails with EPIPE: whoever read that stream has gone, so the
	// caller can stop the run. It is called with the Reporter's lock held.
	Broken func(err *WriteError)
}

// WriteError is a failed write to Out ("stdout") or Err ("stderr").
type WriteError struct {
	Stream string
	Err    error // the system's error, e.g. syscall.EPIPE
}

func (e *WriteError) Error() string {
	if e.Stream == "stdout" {
		return "cannot write the results to stdout: " + e.Err.Error()
	}
	return "cannot write to " + e.Stream + ": " + e.Err.Error()
}

func (e *WriteError) Unwrap() error { return e.Err }

// Summary is the outcome of a whole run, printed by Finish.
type Summary struct {
	OK, Failed, Skipped, Invalid int
	Unchanged                    int // -N: the server said the saved file is current
	Unfinished                   int // entries interrupted or not started
	Bytes                        int64
	Elapsed                      time.Duration
	Interrupted                  bool
	ExitCode                     int // the process's, for the JSON record
	// Stopped says why a run stopped early other than by a signal or
	// --fail-fast, e.g. "results cannot be written to stdout".
	Stopped string
	// NotStarted counts the entries of the lists that got no result; -1
	// when unknown (the rest of stdin was never read).
	NotStarted int
	FailFast   bool
	DryRun     bool // OK counts planned entries
	// Hosts are the hosts that throttled the run (hosts.go).
	Hosts []engine.HostStats
}

const (
	// barInterval caps redraws: faster than this only costs terminal I/O.
	barInterval = 100 * time.Millisecond
	// plainInterval keeps CI logs readable while still showing liveness.
	plainInterval = 5 * time.Second
	// rateWindow smooths speed over a few seconds so the number is readable
	// but still reacts to stalls.
	rateWindow  = 3 * time.Second
	rateSpacing = 250 * time.Millisecond
)

// Reporter implements engine.Observer. It is safe for concurrent use: the
// engine, a list counter and the main goroutine all call into it.
type Reporter struct {
	mu  sync.Mutex
	o   Options
	now func() time.Time
	buf bytes.Buffer

	total      int
	totalKnown bool
	done       int
	prog       engine.Progress // the latest snapshot
	meter      meter

	bar       *bar // nil when no bar is drawn
	lastDraw  time.Time
	lastPlain time.Time

	finished bool
	werr     error
	broken   bool
}

var _ engine.Observer = (*Reporter)(nil)

// New returns a Reporter. Nothing is written until the first event.
func New(o Options) *Reporter {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.Width <= 0 {
		o.Width = 80
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Reporter{
		o:     o,
		now:   o.Now,
		meter: newMeter(rateWindow, rateSpacing),
	}
	r.lastPlain = r.now()
	if o.Mode == ModeBar {
		r.bar = &bar{}
	}
	return r
}

// WriteErr returns the first error met while writing to Out or Err, so the
// caller can turn a full disk or closed pipe into a non-zero exit.
func (r *Reporter) WriteErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.werr
}

// SetTotal records the number of entries once the list has been read; the
// bar then shows a percentage.
func (r *Reporter) SetTotal(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.total, r.totalKnown = n, true
	r.drawBar(r.now())
}

// Progress records a snapshot of the run and refreshes the display when due.
func (r *Reporter) Progress(p engine.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	now := r.now()
	r.prog = p
	r.meter.add(now, p.Bytes)
	if r.bar != nil && now.Sub(r.lastDraw) >= barInterval {
		r.drawBar(now)
	}
	if r.o.Mode == ModePlain && now.Sub(r.lastPlain) >= plainInterval {
		r.lastPlain = now
		r.write(r.o.Err, plainProgressText(r.runState())+"\n")
	}
}

// Result reports one finished entry.
func (r *Reporter) Result(res engine.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	r.prog.Largest = withoutFile(r.prog.Largest, res.Path)
	if r.o.JSON {
		r.writeJSON(res)
	}
	bad := isBad(res.Status)
	if (r.o.Quiet || r.o.JSON) && !bad {
		if now := r.now(); r.bar != nil && now.Sub(r.lastDraw) >= barInterval {
			r.drawBar(now)
		}
		return
	}
	line := Line(res)
	if r.o.Mode == ModeBar && !r.o.JSON {
		// Under a bar the line itself is shown above it, on stderr; stdout
		// stays empty, so there is no copy to make.
		if r.o.Color {
			line = colorLine(res.Status, line)
		}
		r.aboveBar(line)
		return
	}
	if !r.o.JSON {
		r.write(r.o.Out, line+"\n")
	}
	// A failure is copied to stderr only where stdout is not read too: in
	// a 2>&1 log or on one terminal it would be read twice. Under GitHub
	// Actions the annotation is that copy.
	if !bad || r.o.SameDest {
		return
	}
	switch {
	case r.o.GitHub:
		line = Annotation(res)
	case r.bar != nil && r.o.Color:
		line = colorLine(res.Status, line)
	}
	r.aboveBar(line)
}

// Finish removes the bar and prints the summary on Err. Only the first call
// has an effect, so a deferred safety call cannot print a second summary.
func (r *Reporter) Finish(s Summary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	if r.bar != nil {
		r.clearBar()
		r.bar = nil
	}
	hosts := sortHosts(s.Hosts)
	if r.o.JSON {
		r.writeHosts(hosts)
	}
	if r.o.JSONSummary {
		r.writeSummary(s)
	}
	for _, l := range summaryLines(s, r.o.Mode == ModeBar && r.o.Color) {
		r.write(r.o.Err, l+"\n")
	}
	for _, h := range hosts {
		r.write(r.o.Err, hostLine(h)+"\n")
	}
}

// Abandon removes the bar from a process about to die of a signal. A
// write under way is waited for only briefly, and the lock is then kept:
// nothing is drawn after the bar is gone.
func (r *Reporter) Abandon() {
	for deadline := time.Now().Add(200 * time.Millisecond); !r.mu.TryLock(); {
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	r.clearBar()
}

func (r *Reporter) write(w io.Writer, s string) {
	_, err := io.WriteString(w, s)
	if err == nil {
		return
	}
	we := &WriteError{Stream: "stderr", Err: err}
	if w == r.o.Out {
		we.Stream = "stdout"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		we.Err = pe.Err // "write /dev/stdout: " says nothing the stream does not
	}
	if r.werr == nil {
		r.werr = we
	}
	if errors.Is(err, syscall.EPIPE) && !r.broken && r.o.Broken != nil {
		r.broken = true
		r.o.Broken(we)
	}
}

// writeJSON emits one record as a single Write so the line stays whole
// even if Out is shared. Callers hold r.mu.
func (r *Reporter) writeJSON(res engine.Result) {
	r.buf.Reset()
	enc := json.NewEncoder(&r.buf)
	// URLs are full of & and <>, which must stay readable for jq users.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toJSON(res)); err != nil {
		if r.werr == nil {
			r.werr = err
		}
		return
	}
	// On a terminal that also shows the bar, a record written where the bar
	// is would share its line: the bar goes, the record is written at column
	// 0, and the bar comes back below it, as for lines above the bar.
	if r.bar != nil && r.o.SameDest {
		r.clearBar()
		r.write(r.o.Out, escapeJSON(r.buf.String()))
		r.drawBar(r.now())
		return
	}
	r.write(r.o.Out, escapeJSON(r.buf.String()))
}

type jsonResult struct {
	Source       string            `json:"source"`
	URL          string            `json:"url"`
	EffectiveURL string            `json:"effective_url"`
	Path         string            `json:"path"`
	Status       engine.Status     `json:"status"`
	HTTPCode     int               `json:"http_code"`
	CurlCode     int               `json:"curl_code"`
	Error        string            `json:"error"`
	Bytes        int64             `json:"bytes"`
	DurationMS   int64             `json:"duration_ms"`
	Attempts     int               `json:"attempts"`
	Ranges       int               `json:"ranges,omitempty"`
	Checksums    map[string]string `json:"checksums"`
	Tried        []string          `json:"tried,omitempty"`
}

// toJSON keeps values raw: encoding/json already escapes control characters
// and invalid UTF-8, and machine consumers want the original text.
func toJSON(res engine.Result) jsonResult {
	return jsonResult{
		Source:       res.Source,
		URL:          RedactURL(res.URL),
		EffectiveURL: RedactURL(res.EffectiveURL),
		Path:         res.Path,
		Status:       res.Status,
		HTTPCode:     res.HTTPCode,
		CurlCode:     res.CurlCode,
		Error:        res.Error,
		Bytes:        res.Bytes,
		DurationMS:   res.Duration.Milliseconds(),
		Attempts:     res.Attempts,
		Ranges:       res.Ranges,
		Checksums:    nonNil(res.Verified),
		Tried:        redactAll(res.Tried),
	}
}

// redactAll is urls with every password shown as ***.
func redactAll(urls []string) []string {
	var out []string
	for _, u := range urls {
		out = append(out, RedactURL(u))
	}
	return out
}

// nonNil keeps "checksums" an object in every line, so consumers need no
// null check.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
