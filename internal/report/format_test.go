package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/engine"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is unchanged", "https://h/a.txt?x=1&y=2", "https://h/a.txt?x=1&y=2"},
		{"printable unicode is kept", "héllo ✓ 日本", "héllo ✓ 日本"},
		{"empty stays empty", "", ""},
		{"ANSI colour escape", "a\x1b[31mred", `a\x1b[31mred`},
		{"newline", "line1\nline2", `line1\nline2`},
		{"carriage return", "a\rb", `a\rb`},
		{"tab", "a\tb", `a\tb`},
		{"NUL and BEL", "a\x00b\x07", `a\x00b\x07`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 single-byte CSI as a rune", "a\u009b2Jb", `a\u009b2Jb`},
		{"invalid UTF-8 byte", "a\xffb", `a\xffb`},
		{"bidi override", "evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"bidi isolate", "a\u2066b", `a\u2066b`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"backslash is left alone", `C:\dir`, `C:\dir`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sanitize(tc.in); got != tc.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"zero", 0, "0 B"},
		{"negative clamps to zero", -5, "0 B"},
		{"just below a KiB", 1023, "1023 B"},
		{"exactly one KiB", 1024, "1.0 KiB"},
		{"one and a half KiB", 1536, "1.5 KiB"},
		{"eight KiB", 8192, "8.0 KiB"},
		{"rounding promotes to the next unit", 1048575, "1.0 MiB"},
		{"fifteen point six MiB", 16357786, "15.6 MiB"},
		{"GiB", 3 << 30, "3.0 GiB"},
		{"largest int64", math.MaxInt64, "8.0 EiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatSize(tc.in); got != tc.want {
				t.Errorf("FormatSize(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatRate(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"zero", 0, "0 B/s"},
		{"negative clamps", -1, "0 B/s"},
		{"NaN clamps", math.NaN(), "0 B/s"},
		{"infinity is bounded", math.Inf(1), "4.0 EiB/s"},
		{"bytes", 512.4, "512 B/s"},
		{"MiB", 4.1 * 1024 * 1024, "4.1 MiB/s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatRate(tc.in); got != tc.want {
				t.Errorf("FormatRate(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"zero", 0, "0ms"},
		{"negative clamps", -time.Second, "0ms"},
		{"sub-millisecond", 500 * time.Microsecond, "0ms"},
		{"milliseconds", 12 * time.Millisecond, "12ms"},
		{"just under a second", 999 * time.Millisecond, "999ms"},
		{"tenths of a second", 1200 * time.Millisecond, "1.2s"},
		{"tenths truncate", 9960 * time.Millisecond, "9.9s"},
		{"whole seconds", 42*time.Second + 700*time.Millisecond, "42s"},
		{"minutes", 3*time.Minute + 7*time.Second, "3m07s"},
		{"hours", time.Hour + 2*time.Minute + 3*time.Second, "1h02m03s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatDuration(tc.in); got != tc.want {
				t.Errorf("FormatDuration(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name string
		res  engine.Result
		want string
	}{
		{"ok", engine.Result{Source: "list.txt:3", URL: "https://h/a.txt", Path: "out/a.txt",
			Status: engine.StatusOK, HTTPCode: 200, Bytes: 8192, Duration: 12 * time.Millisecond},
			"ok      list.txt:3  https://h/a.txt -> out/a.txt  8.0 KiB 200 12ms"},
		{"ok after retries", engine.Result{Source: "list.txt:3", URL: "https://h/a.txt", Path: "out/a.txt",
			Status: engine.StatusOK, HTTPCode: 200, Bytes: 8192, Duration: 12 * time.Millisecond, Attempts: 3},
			"ok      list.txt:3  https://h/a.txt -> out/a.txt  8.0 KiB 200 12ms after 3 attempts"},
		{"ok split: the probe and one transfer per range are no retries", engine.Result{Source: "arg:1", URL: "http://h/big",
			Path: "big", Status: engine.StatusOK, HTTPCode: 206, Bytes: 1 << 30, Duration: 2 * time.Second, Attempts: 17, Ranges: 16},
			"ok      arg:1  http://h/big -> big  1.0 GiB 206 2.0s in 16 ranges"},
		{"ok split with ranges retried", engine.Result{Source: "arg:1", URL: "http://h/big",
			Path: "big", Status: engine.StatusOK, HTTPCode: 206, Bytes: 1 << 30, Duration: 2 * time.Second, Attempts: 19, Ranges: 16},
			"ok      arg:1  http://h/big -> big  1.0 GiB 206 2.0s in 16 ranges (2 retried)"},
		{"ok without an HTTP code", engine.Result{Source: "arg:1", URL: "ftp://h/f", Path: "f",
			Status: engine.StatusOK, Bytes: 3, Duration: 2 * time.Second},
			"ok      arg:1  ftp://h/f -> f  3 B - 2.0s"},
		{"failed with error text", engine.Result{Source: "list.txt:4", URL: "https://h/b", Path: "out/b",
			Status: engine.StatusFailed, HTTPCode: 404, Error: "HTTP 404 Not Found"},
			"FAILED  list.txt:4  https://h/b -> out/b: HTTP 404 Not Found"},
		{"failed without error text falls back to HTTP code", engine.Result{Source: "-:2", URL: "https://h/c",
			Path: "c", Status: engine.StatusFailed, HTTPCode: 503},
			"FAILED  -:2  https://h/c -> c: HTTP 503"},
		{"failed without error text falls back to curl code", engine.Result{Source: "-:2", URL: "https://h/c",
			Path: "c", Status: engine.StatusFailed, CurlCode: 28},
			"FAILED  -:2  https://h/c -> c: curl error 28"},
		{"failed with nothing known", engine.Result{Source: "-:2", URL: "https://h/c", Status: engine.StatusFailed},
			"FAILED  -:2  https://h/c: failed"},
		{"skipped with reason", engine.Result{Source: "list.txt:5", URL: "https://h/d", Path: "out/d",
			Status: engine.StatusSkipped, Error: "exists, --no-clobber"},
			"skipped list.txt:5  https://h/d -> out/d  (exists, --no-clobber)"},
		{"skipped without reason", engine.Result{Source: "list.txt:5", URL: "https://h/d", Path: "out/d",
			Status: engine.StatusSkipped},
			"skipped list.txt:5  https://h/d -> out/d"},
		{"invalid", engine.Result{Source: "list.txt:6", URL: "ftp//x", Status: engine.StatusInvalid,
			Error: "unsupported scheme"},
			"INVALID list.txt:6  ftp//x: unsupported scheme"},
		{"invalid with empty URL and no error", engine.Result{Source: "list.txt:7", Status: engine.StatusInvalid},
			"INVALID list.txt:7  -: invalid entry"},
		{"interrupted while running", engine.Result{Source: "arg:1", URL: "https://h/a", Path: "a",
			Status: engine.StatusInterrupted, Error: "aborted: interrupted (10 bytes kept in a.part for -c)"},
			"INTERRUPTED arg:1  https://h/a -> a: aborted: interrupted (10 bytes kept in a.part for -c)"},
		{"not started", engine.Result{Source: "arg:2", URL: "https://h/b", Path: "b",
			Status: engine.StatusInterrupted, Error: "not started: interrupted"},
			"INTERRUPTED arg:2  https://h/b -> b: not started: interrupted"},
		{"unknown status is reported as a failure", engine.Result{Source: "a:1", URL: "u", Status: "weird\x1b"},
			`weird\x1b a:1  u: failed`},
		{"control characters are neutralised", engine.Result{Source: "l:1", URL: "https://h/\x1b[2Jx\ny",
			Path: "p\r", Status: engine.StatusFailed, Error: "bad\r\nok      fake\x1b]0;t\x07"},
			`FAILED  l:1  https://h/\x1b[2Jx\ny -> p\r: bad\r\nok      fake\x1b]0;t\x07`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Line(tc.res); got != tc.want {
				t.Errorf("Line() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestColorLine(t *testing.T) {
	tests := []struct {
		name string
		st   engine.Status
		in   string
		want string
	}{
		{"failed is red", engine.StatusFailed, "FAILED  x", "\x1b[31mFAILED  x\x1b[0m"},
		{"invalid is red", engine.StatusInvalid, "INVALID x", "\x1b[31mINVALID x\x1b[0m"},
		{"ok tag is green", engine.StatusOK, "ok      x", "\x1b[32mok\x1b[0m      x"},
		{"skipped is plain", engine.StatusSkipped, "skipped x", "skipped x"},
		{"interrupted is yellow, apart from failures", engine.StatusInterrupted, "INTERRUPTED x", "\x1b[33mINTERRUPTED x\x1b[0m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := colorLine(tc.st, tc.in); got != tc.want {
				t.Errorf("colorLine() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSummaryLines(t *testing.T) {
	tests := []struct {
		name  string
		s     Summary
		color bool
		want  []string
	}{
		{"typical run", Summary{OK: 1998, Failed: 2, Bytes: 16357786, Elapsed: 1200 * time.Millisecond}, false,
			[]string{"multiget: 1998 ok, 2 failed, 0 skipped, 0 invalid · 15.6 MiB in 1.2s (13.0 MiB/s)"}},
		{"zero elapsed omits the rate", Summary{Invalid: 1}, false,
			[]string{"multiget: 0 ok, 0 failed, 0 skipped, 1 invalid · 0 B in 0ms"}},
		{"interrupted", Summary{OK: 3, Skipped: 1, Bytes: 2048, Elapsed: 2 * time.Second, Interrupted: true, NotStarted: 17}, false,
			[]string{"multiget: 3 ok, 0 failed, 1 skipped, 0 invalid · 2.0 KiB in 2.0s (1.0 KiB/s)",
				"multiget: interrupted: 17 entries not started"}},
		{"interrupted with one entry left", Summary{Elapsed: time.Second, Interrupted: true, NotStarted: 1}, false,
			[]string{"multiget: 0 ok, 0 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: interrupted: 1 entry not started"}},
		{"interrupted with the rest of stdin unread", Summary{Failed: 2, Elapsed: time.Second, Interrupted: true, NotStarted: -1}, false,
			[]string{"multiget: 0 ok, 2 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: interrupted"}},
		{"interrupted with every entry reported", Summary{Failed: 2, Elapsed: time.Second, Interrupted: true}, false,
			[]string{"multiget: 0 ok, 2 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: interrupted"}},
		{"stopped by a closed stdout", Summary{OK: 1, Failed: 2, Elapsed: time.Second, Stopped: "results cannot be written to stdout", NotStarted: 4}, false,
			[]string{"multiget: 1 ok, 2 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: stopped: results cannot be written to stdout: 4 entries not started"}},
		{"fail-fast with the rest of stdin unread", Summary{Failed: 1, Elapsed: time.Second, FailFast: true, NotStarted: -1}, false,
			[]string{"multiget: 0 ok, 1 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: stopped by --fail-fast"}},
		{"fail-fast with entries left", Summary{Failed: 1, Elapsed: time.Second, FailFast: true, NotStarted: 5}, false,
			[]string{"multiget: 0 ok, 1 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: stopped by --fail-fast: 5 entries not started"}},
		{"fail-fast with nothing left", Summary{Failed: 1, Elapsed: time.Second, FailFast: true}, false,
			[]string{"multiget: 0 ok, 1 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)",
				"multiget: stopped by --fail-fast"}},
		{"colour marks failures red", Summary{Failed: 2, Elapsed: time.Second}, true,
			[]string{"multiget: 0 ok, \x1b[31m2 failed\x1b[0m, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)"}},
		{"interrupted entries counted apart", Summary{OK: 1, Unfinished: 3, Elapsed: time.Second, Interrupted: true}, false,
			[]string{"multiget: 1 ok, 0 failed, 0 skipped, 0 invalid, 3 interrupted · 0 B in 1.0s (0 B/s)",
				"multiget: interrupted"}},
		{"colour marks interrupted entries yellow", Summary{Failed: 1, Unfinished: 2, Elapsed: time.Second, FailFast: true}, true,
			[]string{"multiget: 0 ok, \x1b[31m1 failed\x1b[0m, 0 skipped, 0 invalid, \x1b[33m2 interrupted\x1b[0m · 0 B in 1.0s (0 B/s)",
				"multiget: stopped by --fail-fast"}},
		{"colour leaves zero failures plain", Summary{OK: 1, Elapsed: time.Second}, true,
			[]string{"multiget: 1 ok, 0 failed, 0 skipped, 0 invalid · 0 B in 1.0s (0 B/s)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summaryLines(tc.s, tc.color)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("summaryLines() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestMeter(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	type snap struct {
		at time.Duration
		n  int64
	}
	tests := []struct {
		name  string
		snaps []snap
		want  float64
	}{
		{"no samples", nil, 0},
		{"one sample", []snap{{0, 100}}, 0},
		{"steady rate", []snap{{0, 0}, {time.Second, 1000}, {2 * time.Second, 2000}}, 1000},
		{"dense samples still use the newest", []snap{{0, 0}, {time.Second, 1000}, {time.Second + time.Millisecond, 1100}},
			1100 / 1.001},
		{"old samples slide out of the window", []snap{{0, 0}, {time.Second, 100000},
			{10 * time.Second, 100000}, {11 * time.Second, 101000}, {15 * time.Second, 105000}}, 1000},
		{"stall reads as zero", []snap{{0, 0}, {time.Second, 5000}, {7 * time.Second, 5000}, {12 * time.Second, 5000}}, 0},
		{"shrinking count reads as zero", []snap{{0, 5000}, {time.Second, 1000}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMeter(rateWindow, rateSpacing)
			for _, s := range tc.snaps {
				m.add(t0.Add(s.at), s.n)
			}
			if got := m.rate(); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("rate() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEscapeJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"clean record is unchanged", `{"url":"https://h/a?x=1&y=2"}` + "\n", `{"url":"https://h/a?x=1&y=2"}` + "\n"},
		{"C1 control", "{\"e\":\"a\u009bb\"}\n", `{"e":"a\u009bb"}` + "\n"},
		{"bidi override", "{\"p\":\"x\u202ey\"}\n", `{"p":"x\u202ey"}` + "\n"},
		{"DEL", "{\"p\":\"x\x7fy\"}\n", `{"p":"x\u007fy"}` + "\n"},
		{"unicode text is kept", "{\"p\":\"日本 ✓\"}\n", "{\"p\":\"日本 ✓\"}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := escapeJSON(tc.in)
			if got != tc.want {
				t.Fatalf("escapeJSON(%q) = %q, want %q", tc.in, got, tc.want)
			}
			var a, b map[string]string
			if err := json.Unmarshal([]byte(tc.in), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(got), &b); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("decoded value changed: %q vs %q", a, b)
			}
		})
	}
}
