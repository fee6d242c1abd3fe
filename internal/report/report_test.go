package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/engine"
	"github.com/multiget/multiget/internal/testserver"
)

// fakeClock is advanced explicitly so throttling is tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var results = []engine.Result{
	{Source: "list.txt:3", URL: "https://h/a.txt", EffectiveURL: "https://h/a.txt", Path: "out/a.txt",
		Status: engine.StatusOK, HTTPCode: 200, Bytes: 8192, Duration: 12 * time.Millisecond},
	{Source: "list.txt:4", URL: "https://h/b", EffectiveURL: "https://h/b", Path: "out/b",
		Status: engine.StatusFailed, HTTPCode: 404, Error: "HTTP 404 Not Found", Duration: 3 * time.Millisecond},
	{Source: "list.txt:5", URL: "https://h/c", Path: "out/c",
		Status: engine.StatusSkipped, Error: "exists, --no-clobber"},
	{Source: "list.txt:6", URL: "ftp//x", Status: engine.StatusInvalid, Error: "unsupported scheme"},
}

const (
	okLine      = "ok      list.txt:3  https://h/a.txt -> out/a.txt  8.0 KiB 200 12ms\n"
	failedLine  = "FAILED  list.txt:4  https://h/b -> out/b: HTTP 404 Not Found\n"
	skippedLine = "skipped list.txt:5  https://h/c -> out/c  (exists, --no-clobber)\n"
	invalidLine = "INVALID list.txt:6  ftp//x: unsupported scheme\n"
	summaryText = "multiget: 1 ok, 1 failed, 1 skipped, 1 invalid · 8.0 KiB in 2.0s (4.0 KiB/s)\n"
)

var sampleSummary = Summary{OK: 1, Failed: 1, Skipped: 1, Invalid: 1, Bytes: 8192, Elapsed: 2 * time.Second}

func run(o Options) (out, errs string) {
	var ob, eb bytes.Buffer
	o.Out, o.Err = &ob, &eb
	clk := newFakeClock()
	o.Now = clk.Now
	r := New(o)
	r.SetTotal(len(results))
	for _, res := range results {
		clk.Advance(time.Second)
		r.Progress(engine.Progress{Done: 0, Active: 1, Bytes: 8192})
		r.Result(res)
	}
	r.Finish(sampleSummary)
	return ob.String(), eb.String()
}

func TestTextModes(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		out     string
		errText string
	}{
		{"none: every line on Out, failures also on Err",
			Options{Mode: ModeNone},
			okLine + failedLine + skippedLine + invalidLine,
			failedLine + invalidLine + summaryText},
		{"plain: same lines as none for a short run",
			Options{Mode: ModePlain},
			okLine + failedLine + skippedLine + invalidLine,
			failedLine + invalidLine + summaryText},
		{"plain ignores colour",
			Options{Mode: ModePlain, Color: true},
			okLine + failedLine + skippedLine + invalidLine,
			failedLine + invalidLine + summaryText},
		{"quiet none: only failures and the summary",
			Options{Mode: ModeNone, Quiet: true},
			failedLine + invalidLine,
			failedLine + invalidLine + summaryText},
		{"quiet plain: only failures and the summary",
			Options{Mode: ModePlain, Quiet: true},
			failedLine + invalidLine,
			failedLine + invalidLine + summaryText},
		{"same destination: no copy of a failure on Err",
			Options{Mode: ModeNone, SameDest: true},
			okLine + failedLine + skippedLine + invalidLine,
			summaryText},
		{"quiet, same destination: failures once",
			Options{Mode: ModePlain, Quiet: true, SameDest: true},
			failedLine + invalidLine,
			summaryText},
		{"GitHub: the annotation is the copy on Err",
			Options{Mode: ModeNone, Quiet: true, GitHub: true},
			failedLine + invalidLine,
			"::error file=list.txt,line=4,title=multiget::list.txt:4 https://h/b: HTTP 404 Not Found\n" +
				"::error file=list.txt,line=6,title=multiget::list.txt:6 ftp//x: unsupported scheme\n" + summaryText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs := run(tc.o)
			if out != tc.out {
				t.Errorf("Out =\n%s\nwant\n%s", out, tc.out)
			}
			if errs != tc.errText {
				t.Errorf("Err =\n%s\nwant\n%s", errs, tc.errText)
			}
		})
	}
}

// -q changes only which result lines are printed: an explicit bar is
// still drawn, with the failures above it and no ok line.
func TestQuietBar(t *testing.T) {
	out, errs := run(Options{Mode: ModeBar, Quiet: true})
	if out != "" {
		t.Errorf("Out = %q, want nothing under a bar", out)
	}
	if !strings.Contains(errs, "\r") || !strings.Contains(errs, "/4") {
		t.Errorf("no bar drawn with -q and an explicit bar:\n%q", errs)
	}
	plain := strings.ReplaceAll(errs, "\r", "\n")
	if !strings.Contains(plain, failedLine) || !strings.Contains(plain, invalidLine) || strings.Contains(plain, "ok      ") {
		t.Errorf("want the failures above the bar and no ok line:\n%q", errs)
	}
	if !strings.HasSuffix(errs, summaryText) {
		t.Errorf("the summary does not end Err:\n%q", errs)
	}
}

func TestPlainPeriodicProgress(t *testing.T) {
	var out, errs bytes.Buffer
	clk := newFakeClock()
	r := New(Options{Out: &out, Err: &errs, Mode: ModePlain, Now: clk.Now})
	steps := []struct {
		advance time.Duration
		p       engine.Progress
	}{
		{time.Second, engine.Progress{Active: 2, Bytes: 1 << 20}},
		{4 * time.Second, engine.Progress{Active: 2, Bytes: 5 << 20}}, // 5s after start: due
		{time.Second, engine.Progress{Active: 2, Bytes: 6 << 20}},     // 1s later: too soon
		{3 * time.Second, engine.Progress{Active: 1, Bytes: 9 << 20}}, // 4s later: too soon
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		r.Progress(s.p)
	}
	r.SetTotal(2000)
	r.Result(engine.Result{Source: "l:1", URL: "u", Path: "p", Status: engine.StatusOK})
	clk.Advance(time.Second) // 5s after the last line: due
	r.Progress(engine.Progress{Done: 1, Active: 1, Bytes: 10 << 20})

	want := "multiget: progress: 0/? done, 2 active, 5.0 MiB, 1.0 MiB/s\n" +
		"multiget: progress: 1/2000 done (0%), 1 active, 10.0 MiB, 1.0 MiB/s\n"
	if errs.String() != want {
		t.Errorf("Err =\n%s\nwant\n%s", errs.String(), want)
	}
	if out.String() != "ok      l:1  u -> p  0 B - 0ms\n" {
		t.Errorf("Out = %q", out.String())
	}
}

func TestPeriodicProgressOnlyInPlainMode(t *testing.T) {
	for _, mode := range []Mode{ModeNone, ModeBar} {
		t.Run(fmt.Sprintf("mode %d", mode), func(t *testing.T) {
			var out, errs bytes.Buffer
			clk := newFakeClock()
			r := New(Options{Out: &out, Err: &errs, Mode: mode, Now: clk.Now})
			for range 5 {
				clk.Advance(10 * time.Second)
				r.Progress(engine.Progress{Active: 1, Bytes: 10})
			}
			if strings.Contains(errs.String(), "progress:") {
				t.Errorf("unexpected periodic line in Err: %q", errs.String())
			}
		})
	}
}

func TestJSON(t *testing.T) {
	wantKeys := []string{"source", "url", "effective_url", "path", "status",
		"http_code", "curl_code", "error", "bytes", "duration_ms", "attempts", "checksums"}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"none", Options{Mode: ModeNone, JSON: true}},
		{"plain", Options{Mode: ModePlain, JSON: true}},
		{"bar", Options{Mode: ModeBar, JSON: true}},
		{"quiet still prints every entry", Options{Mode: ModeNone, JSON: true, Quiet: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs := run(tc.o)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(results) {
				t.Fatalf("Out has %d lines, want %d:\n%s", len(lines), len(results), out)
			}
			for i, l := range lines {
				dec := json.NewDecoder(strings.NewReader(l))
				if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
					t.Fatalf("line %d does not start an object: %q", i, l)
				}
				var keys []string
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						t.Fatalf("line %d: %v", i, err)
					}
					keys = append(keys, k.(string))
					var v any
					if err := dec.Decode(&v); err != nil {
						t.Fatalf("line %d: %v", i, err)
					}
				}
				if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
					t.Errorf("line %d keys = %v, want %v", i, keys, wantKeys)
				}
			}
			for _, l := range []string{failedLine, invalidLine, summaryText} {
				if !strings.Contains(errs, l) {
					t.Errorf("Err lacks %q:\n%s", l, errs)
				}
			}
			for _, l := range []string{okLine, skippedLine} {
				if strings.Contains(errs, l) {
					t.Errorf("Err has %q although only failures belong there", l)
				}
			}
		})
	}
}

func TestJSONValues(t *testing.T) {
	var out bytes.Buffer
	r := New(Options{Out: &out, JSON: true})
	r.Result(engine.Result{Source: "l:1", URL: "https://h/a?x=1&y=<2>", EffectiveURL: "https://h/b",
		Path: "out/a", Status: engine.StatusFailed, HTTPCode: 500, CurlCode: 22,
		Error: "boom\n\x1b[31m", Bytes: 7, Duration: 1500 * time.Microsecond})
	want := `{"source":"l:1","url":"https://h/a?x=1&y=<2>","effective_url":"https://h/b","path":"out/a",` +
		`"status":"failed","http_code":500,"curl_code":22,"error":"boom\n\u001b[31m","bytes":7,"duration_ms":1,"attempts":0,"checksums":{}}` + "\n"
	if out.String() != want {
		t.Errorf("Out =\n%s\nwant\n%s", out.String(), want)
	}
}

var (
	sgr      = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	barMoves = regexp.MustCompile(`\x1b\[(?:[0-9]+A|K|J)`)
)

func TestBarMode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		color  bool
		marker string
	}{
		{"without colour", false, failedLine},
		{"with colour", true, "\x1b[31m" + strings.TrimSuffix(failedLine, "\n") + "\x1b[0m\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs := run(Options{Mode: ModeBar, Color: tc.color, Width: 100})
			if out != "" {
				t.Errorf("Out should be empty in bar mode, got %q", out)
			}
			if !strings.Contains(errs, tc.marker) {
				t.Errorf("Err lacks the failure line %q:\n%q", tc.marker, errs)
			}
			if !strings.Contains(errs, "\r") {
				t.Errorf("Err shows no bar redraw: %q", errs)
			}
			if !regexp.MustCompile(`100% \[[^]]*\] 4/4 · `).MatchString(errs) {
				t.Errorf("Err shows no final count: %q", errs)
			}
			summary := summaryText
			if tc.color {
				summary = strings.Replace(summary, "1 failed", "\x1b[31m1 failed\x1b[0m", 1)
			}
			if !strings.HasSuffix(errs, "\r\x1b[J"+summary) {
				t.Errorf("summary does not start on a cleared line: %q", errs)
			}
			if !tc.color && sgr.MatchString(errs) {
				t.Errorf("colour sequence without colour: %q", errs)
			}
		})
	}
}

func TestBarSpinnerToDeterminate(t *testing.T) {
	var errs bytes.Buffer
	clk := newFakeClock()
	r := New(Options{Err: &errs, Mode: ModeBar, Now: clk.Now})
	for i := range 5 {
		clk.Advance(200 * time.Millisecond)
		r.Progress(engine.Progress{Done: i, Active: 3, Bytes: int64(i) << 20})
		r.Result(engine.Result{Source: fmt.Sprint("l:", i), URL: "u", Path: "p", Status: engine.StatusOK})
	}
	if !strings.Contains(errs.String(), "5/? · ") {
		t.Errorf("spinner does not show the count: %q", errs.String())
	}
	r.SetTotal(10)
	clk.Advance(200 * time.Millisecond)
	r.Progress(engine.Progress{Done: 5, Active: 3, Bytes: 5 << 20})
	if !regexp.MustCompile(`50% \[[=> ]*\] 5/10 · `).MatchString(errs.String()) {
		t.Errorf("determinate bar not drawn: %q", errs.String())
	}
	// A second, smaller total and more results than announced must not panic.
	r.SetTotal(3)
	for range 3 {
		r.Result(engine.Result{Source: "l:x", URL: "u", Path: "p", Status: engine.StatusOK})
	}
	r.Finish(Summary{})
	r.Finish(Summary{OK: 99})
	r.Result(engine.Result{Source: "late", Status: engine.StatusFailed})
	r.SetTotal(1)
	r.Progress(engine.Progress{})
	if n := strings.Count(errs.String(), "multiget: "); n != 1 {
		t.Errorf("summary printed %d times", n)
	}
}

func TestBarEmptyList(t *testing.T) {
	var errs bytes.Buffer
	r := New(Options{Err: &errs, Mode: ModeBar})
	r.SetTotal(0)
	r.Progress(engine.Progress{})
	r.Finish(Summary{})
	if !strings.Contains(errs.String(), "0/0") {
		t.Errorf("empty list not shown: %q", errs.String())
	}
}

func TestHostileFieldsAreNeutralised(t *testing.T) {
	hostile := engine.Result{Source: "l:1", URL: "https://h/\x1b[2J\x1b]0;pwned\x07x\ny", Path: "out/\u202egpj.exe",
		Status: engine.StatusFailed, Error: "bad\r\nok      l:2  forged\u009b31m"}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"none", Options{Mode: ModeNone}},
		{"plain", Options{Mode: ModePlain}},
		{"bar", Options{Mode: ModeBar}},
		{"json none", Options{Mode: ModeNone, JSON: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			tc.o.Out, tc.o.Err = &out, &errs
			r := New(tc.o)
			r.Result(hostile)
			r.Finish(Summary{Failed: 1})
			// The bar's own cursor moves and erasures are legitimate.
			for name, s := range map[string]string{"Out": out.String(), "Err": barMoves.ReplaceAllString(errs.String(), "")} {
				if strings.ContainsAny(s, "\x1b\x07\u009b\u202e") {
					t.Errorf("%s contains a raw control character: %q", name, s)
				}
			}
			// The bar's own carriage returns are legitimate; hostile ones
			// would show up as extra lines.
			text := strings.ReplaceAll(errs.String(), "\r", "")
			if n := strings.Count(text, "\n"); n != 2 {
				t.Errorf("Err has %d lines, want the failure and the summary: %q", n, text)
			}
			if tc.o.JSON {
				var got engine.Result
				if err := json.Unmarshal(out.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.URL != hostile.URL || got.Path != hostile.Path || got.Error != hostile.Error {
					t.Errorf("JSON changed the values: %+v", got)
				}
			}
			if strings.Count(out.String(), "\n") > 1 {
				t.Errorf("Out split one entry over several lines: %q", out.String())
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	for _, mode := range []Mode{ModeNone, ModeBar, ModePlain} {
		t.Run(fmt.Sprintf("mode %d", mode), func(t *testing.T) {
			var out, errs testserver.Buffer
			clk := newFakeClock()
			r := New(Options{Out: &out, Err: &errs, Mode: mode, JSON: mode == ModeNone, Now: clk.Now})
			const n = 200
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := range n {
					r.SetTotal(n + i%3)
				}
			})
			wg.Go(func() {
				for i := range n {
					clk.Advance(50 * time.Millisecond)
					r.Progress(engine.Progress{Done: i, Active: 4, Bytes: int64(i) * 1000})
				}
			})
			wg.Go(func() {
				for i := range n {
					st := engine.StatusOK
					if i%10 == 0 {
						st = engine.StatusFailed
					}
					r.Result(engine.Result{Source: fmt.Sprint("l:", i), URL: "u", Path: "p", Status: st})
				}
			})
			wg.Go(func() {
				for range n {
					_ = r.WriteErr()
				}
			})
			wg.Wait()
			r.Finish(Summary{OK: n})
			if !strings.Contains(errs.String(), "multiget: 200 ok") {
				t.Errorf("summary missing: %q", errs.String())
			}
			if got := strings.Count(errs.String(), "FAILED  l:"); got != n/10 {
				t.Errorf("%d failure lines on Err, want %d", got, n/10)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestWriteErr(t *testing.T) {
	r := New(Options{Out: failingWriter{}, Err: &bytes.Buffer{}})
	if r.WriteErr() != nil {
		t.Fatal("error before any write")
	}
	r.Result(results[0])
	if err := r.WriteErr(); err == nil || err.Error() != "cannot write the results to stdout: disk full" {
		t.Errorf("WriteErr() = %v, want disk full", err)
	}
}

// pipeWriter fails as a write to a pipe with no reader does once SIGPIPE
// is handled.
type pipeWriter struct{ name string }

func (w pipeWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: w.name, Err: syscall.EPIPE}
}

// A broken pipe on either stream is reported once, naming the stream; other
// write errors (a full disk) do not stop the run.
func TestBrokenPipe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		o        Options
		want     string
		brokenOK bool
	}{
		{"stdout", Options{Out: pipeWriter{"/dev/stdout"}, Err: &bytes.Buffer{}, JSON: true},
			"cannot write the results to stdout: broken pipe", true},
		{"stderr", Options{Out: &bytes.Buffer{}, Err: pipeWriter{"/dev/stderr"}},
			"cannot write to stderr: broken pipe", true},
		{"full disk", Options{Out: failingWriter{}, Err: &bytes.Buffer{}},
			"cannot write the results to stdout: disk full", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			tc.o.Broken = func(we *WriteError) { calls = append(calls, we.Error()) }
			r := New(tc.o)
			for range 3 {
				r.Result(results[1]) // a failure: written to both streams
			}
			r.Finish(sampleSummary)
			if err := r.WriteErr(); err == nil || err.Error() != tc.want {
				t.Errorf("WriteErr() = %v, want %q", err, tc.want)
			}
			if tc.brokenOK && (len(calls) != 1 || calls[0] != tc.want) {
				t.Errorf("Broken called %q, want once with %q", calls, tc.want)
			}
			if !tc.brokenOK && len(calls) != 0 {
				t.Errorf("Broken called %q for a write error that is no broken pipe", calls)
			}
		})
	}
}

func TestNilWritersDiscard(t *testing.T) {
	r := New(Options{Mode: ModeBar, JSON: true})
	r.SetTotal(1)
	r.Result(results[1])
	r.Finish(sampleSummary)
	if err := r.WriteErr(); err != nil {
		t.Errorf("WriteErr() = %v", err)
	}
}
