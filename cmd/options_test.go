package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/multiget/multiget/internal/report"
	"github.com/multiget/multiget/internal/sums"
)

// The URL most cases download; defaults() expects it.
const optURL = "http://h/a"

// defaults is what "multiget http://h/a" parses to, written out field by
// field rather than read from the flag definitions, so that a default
// changed by mistake fails here.
func defaults() Options {
	return Options{
		URLs:           []string{optURL},
		Dir:            ".",
		Parallel:       64,
		Streams:        0,
		ConnectTimeout: 30 * time.Second,
		UserAgent:      "multiget/" + version(),
		Proto:          "http,https,ftp,ftps",
		Progress:       "auto",
		Retry:          3,
		RetryDelay:     time.Second,
		RetryMaxDelay:  30 * time.Second,
		StallTimeout:   60 * time.Second,
		MaxRedirs:      10,
		Split:          1,
		MinSplitSize:   "20M",
		minSplitSize:   20 << 20,
		protocols:      []string{"http", "https", "ftp", "ftps"},
	}
}

// hint ends the message of every usage mistake (a FlagError).
const hint = "multiget: hint: see multiget --help\n"

type optCase struct {
	name  string
	args  []string
	env   map[string]string
	files map[string]string // written in the current directory first

	// A command line that parses: want edits defaults() into the expected
	// Options, which must equal the parsed ones in every field; check, if
	// set, looks at what reflect.DeepEqual cannot (the parsed checksums).
	want  func(o *Options)
	check func(t *testing.T, o *Options)

	// One that does not: the exact stderr and the exit code, and the run
	// must not start.
	stderr string
	code   int
}

// parse runs the command line as Main would, up to the run itself.
func parse(t *testing.T, c optCase) (got *Options, code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(t.TempDir())
	for name, content := range c.files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	ios := &IOStreams{
		In: strings.NewReader(""), Out: &out, ErrOut: &errb,
		// "$PWD" in a value is the case's directory, for the absolute
		// paths the XDG rules want.
		Getenv: func(k string) string { return strings.ReplaceAll(c.env[k], "$PWD", wd) },
	}
	code = execute(context.Background(), ios, c.args, func(_ context.Context, o *Options) error {
		if got != nil {
			t.Error("the run was started twice")
		}
		got = o
		return nil
	})
	return got, code, out.String(), errb.String()
}

func TestOptions(t *testing.T) {
	for _, c := range optionCases() {
		t.Run(c.name, func(t *testing.T) {
			got, code, _, stderr := parse(t, c)
			if c.want == nil && c.check == nil {
				if got != nil {
					t.Errorf("the run started with %+v", *got)
				}
				if code != c.code || stderr != c.stderr {
					t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", code, stderr, c.code, c.stderr)
				}
				return
			}
			if code != ExitOK || stderr != "" || got == nil {
				t.Fatalf("exit %d (run started: %v), stderr:\n%s", code, got != nil, stderr)
			}
			if c.check != nil {
				c.check(t, got)
			}
			want := defaults()
			if c.want != nil {
				c.want(&want)
			}
			g := *got
			g.getenv, g.sums = nil, nil
			if len(g.URLs) == 0 {
				g.URLs = nil
			}
			if !reflect.DeepEqual(g, want) {
				t.Errorf("parsed options differ:\n%s", optionsDiff(g, want))
			}
		})
	}
}

// optionsDiff names each field of got that differs from want (%#v tells
// a nil slice from an empty one, as reflect.DeepEqual does).
func optionsDiff(got, want Options) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		if g, w := fmt.Sprintf("%#v", gv.Field(i)), fmt.Sprintf("%#v", wv.Field(i)); g != w {
			fmt.Fprintf(&b, "  %s: got %s, want %s\n", gv.Type().Field(i).Name, g, w)
		}
	}
	return b.String()
}

// usage is the stderr of a usage mistake.
func usage(msg string) string { return "multiget: error: " + msg + "\n" + hint }

// inputErr is the stderr of an unreadable input (exit 2, no hint).
func inputErr(msg string) string { return "multiget: error: " + msg + "\n" }

func optionCases() []optCase {
	var cases []optCase
	cases = append(cases, inputCases()...)
	cases = append(cases, transferCases()...)
	cases = append(cases, requestCases()...)
	cases = append(cases, outputCases()...)
	cases = append(cases, retryCases()...)
	cases = append(cases, rateAndSizeCases()...)
	cases = append(cases, shardCases()...)
	cases = append(cases, configCases()...)
	cases = append(cases, flagSyntaxCases()...)
	cases = append(cases, curlCases()...)
	return cases
}

// URL arguments, -i lists, --dir and --tree.
func inputCases() []optCase {
	return []optCase{
		{name: "a URL alone takes every default", args: []string{optURL}, want: func(o *Options) {}},
		{name: "URL arguments keep their order", args: []string{optURL, "http://h/b", "ftp://h/c"},
			want: func(o *Options) { o.URLs = []string{optURL, "http://h/b", "ftp://h/c"} }},
		{name: "-i alone needs no URL argument", args: []string{"-i", "list.txt"},
			want: func(o *Options) { o.URLs, o.Inputs = nil, []string{"list.txt"} }},
		{name: "-i repeated, stdin among them, beside URL arguments", args: []string{"-i", "a.txt", optURL, "--input", "-", "--input=b.txt"},
			want: func(o *Options) { o.Inputs = []string{"a.txt", "-", "b.txt"} }},
		{name: "-i - twice is refused: stdin can be read once", args: []string{"-i", "-", "-i", "-"},
			stderr: usage("stdin (-i - or --metalink -) can be read only once"), code: ExitUsage},
		{name: "--metalink alone needs no URL argument, repeated, stdin among them", args: []string{"--metalink", "a.meta4", "--metalink=-", "-i", "l.txt"},
			want: func(o *Options) { o.URLs, o.Metalinks, o.Inputs = nil, []string{"a.meta4", "-"}, []string{"l.txt"} }},
		{name: "-i - and --metalink - are refused: stdin can be read once", args: []string{"-i", "-", "--metalink", "-"},
			stderr: usage("stdin (-i - or --metalink -) can be read only once"), code: ExitUsage},
		{name: "--metalink with an empty name is refused", args: []string{"--metalink", "", optURL},
			stderr: usage("--metalink needs a file name (or - for stdin)"), code: ExitUsage},
		{name: "-i with an empty name is refused", args: []string{"-i", "", optURL},
			stderr: usage("--input needs a file name (or - for stdin)"), code: ExitUsage},
		{name: "neither a URL nor -i is a usage error", args: nil,
			stderr: usage("nothing to download: give URLs as arguments or a list with -i FILE (-i - for stdin)"), code: ExitUsage},
		{name: "only flags and no URL is a usage error", args: []string{"-j", "4", "-q"},
			stderr: usage("nothing to download: give URLs as arguments or a list with -i FILE (-i - for stdin)"), code: ExitUsage},
		{name: "-d short form", args: []string{"-d", "out", optURL}, want: func(o *Options) { o.Dir = "out" }},
		{name: "--dir= long form", args: []string{"--dir=out/sub", optURL}, want: func(o *Options) { o.Dir = "out/sub" }},
		{name: "--tree", args: []string{"--tree", optURL}, want: func(o *Options) { o.Tree = true }},
		{name: "--no-clobber", args: []string{"--no-clobber", optURL}, want: func(o *Options) { o.NoClobber = true }},
		{name: "--content-disposition", args: []string{"--content-disposition", optURL}, want: func(o *Options) { o.ContentDisposition = true }},
		{name: "-c short form", args: []string{"-c", optURL}, want: func(o *Options) { o.Continue = true }},
		{name: "--continue long form", args: []string{"--continue", optURL}, want: func(o *Options) { o.Continue = true }},
		{name: "--dry-run", args: []string{"--dry-run", optURL}, want: func(o *Options) { o.DryRun = true }},
		{name: "--failed-list", args: []string{"--failed-list", "left.txt", optURL}, want: func(o *Options) { o.FailedList = "left.txt" }},
		{name: "--checksum-file files are read and merged at parse time",
			args:  []string{"--checksum-file", "SHA256SUMS", "--checksum-file", "MD5SUMS", optURL},
			files: map[string]string{"SHA256SUMS": strings.Repeat("ab", 32) + "  dir/a.iso\n", "MD5SUMS": strings.Repeat("cd", 16) + "  dir/a.iso\n"},
			want:  func(o *Options) { o.ChecksumFiles = []string{"SHA256SUMS", "MD5SUMS"} },
			check: func(t *testing.T, o *Options) {
				want := []sums.Sum{{Algo: "sha256", Hex: strings.Repeat("ab", 32)}, {Algo: "md5", Hex: strings.Repeat("cd", 16)}}
				if got := o.sums.Lookup("dir/a.iso"); !sameSums(got, want) {
					t.Errorf("checksums for dir/a.iso: %v, want %v", got, want)
				}
			}},
		{name: "--checksum-file that does not exist is an input error", args: []string{"--checksum-file", "SUMS", optURL},
			stderr: inputErr("--checksum-file: open SUMS: no such file or directory"), code: ExitUsage},
		{name: "--checksum-file with a line that is no checksum is an input error", args: []string{"--checksum-file", "SUMS", optURL},
			files:  map[string]string{"SUMS": "not a checksum line\n"},
			stderr: inputErr(`--checksum-file SUMS:1: not a checksum line: want "HEX  NAME" or "ALGO (NAME) = HEX"`), code: ExitUsage},
	}
}

func sameSums(got, want []sums.Sum) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[sums.Sum]bool{}
	for _, s := range got {
		seen[s] = true
	}
	for _, s := range want {
		if !seen[s] {
			return false
		}
	}
	return true
}

// Transfers at once, timeouts, --fail-fast, --split.
func transferCases() []optCase {
	return []optCase{
		{name: "-j short form", args: []string{"-j", "16", optURL}, want: func(o *Options) { o.Parallel = 16 }},
		{name: "-j with the value attached", args: []string{"-j3", optURL}, want: func(o *Options) { o.Parallel = 3 }},
		{name: "--parallel= long form", args: []string{"--parallel=1", optURL}, want: func(o *Options) { o.Parallel = 1 }},
		{name: "-j 0 is refused", args: []string{"-j", "0", optURL},
			stderr: usage("--parallel must be at least 1, got 0"), code: ExitUsage},
		{name: "-j negative is refused", args: []string{"-j", "-3", optURL},
			stderr: usage("--parallel must be at least 1, got -3"), code: ExitUsage},
		{name: "-j not a number is refused", args: []string{"-j", "many", optURL},
			stderr: usage(`-j/--parallel: "many" is not a whole number: write e.g. --parallel 64`), code: ExitUsage},
		{name: "--retry not a number names the flag, the value and the form", args: []string{"--retry=abc", optURL},
			stderr: usage(`--retry: "abc" is not a whole number: write e.g. --retry 3`), code: ExitUsage},
		{name: "-j too large is refused as too large", args: []string{"-j", "99999999999999999999", optURL},
			stderr: usage(`-j/--parallel: "99999999999999999999" is too large`), code: ExitUsage},
		{name: "--per-host", args: []string{"--per-host", "4", optURL}, want: func(o *Options) { o.PerHost = 4 }},
		{name: "--per-host negative is refused", args: []string{"--per-host", "-1", optURL},
			stderr: usage("--per-host must be 0 (no cap) or more, got -1"), code: ExitUsage},
		{name: "--streams", args: []string{"--streams", "10", optURL}, want: func(o *Options) { o.Streams = 10 }},
		{name: "--streams= long form", args: []string{"--streams=1", optURL}, want: func(o *Options) { o.Streams = 1 }},
		{name: "--streams 0 is the default: what the server allows", args: []string{"--streams", "0", optURL}, want: func(o *Options) { o.Streams = 0 }},
		{name: "--streams negative is refused", args: []string{"--streams=-5", optURL},
			stderr: usage("--streams must be at least 1 (or 0: what the server allows), got -5"), code: ExitUsage},
		{name: "--connect-timeout and --max-time take Go durations", args: []string{"--connect-timeout", "500ms", "--max-time", "10m", optURL},
			want: func(o *Options) { o.ConnectTimeout, o.MaxTime = 500*time.Millisecond, 10*time.Minute }},
		{name: "--connect-timeout negative is refused", args: []string{"--connect-timeout", "-1s", optURL},
			stderr: usage("timeouts cannot be negative"), code: ExitUsage},
		{name: "--max-time negative is refused", args: []string{"--max-time=-2m", optURL},
			stderr: usage("timeouts cannot be negative"), code: ExitUsage},
		{name: "--connect-timeout and --max-time take bare seconds, as curl does", args: []string{"--connect-timeout", "5", "--max-time=2.5", optURL},
			want: func(o *Options) { o.ConnectTimeout, o.MaxTime = 5*time.Second, 2500*time.Millisecond }},
		{name: "--retry-delay and --stall-timeout take bare seconds", args: []string{"--retry-delay", "0.5", "--stall-timeout", "90", optURL},
			want: func(o *Options) { o.RetryDelay, o.StallTimeout = 500*time.Millisecond, 90*time.Second }},
		{name: "--max-time negative seconds are refused", args: []string{"--max-time=-3", optURL},
			stderr: usage("timeouts cannot be negative"), code: ExitUsage},
		{name: "--connect-timeout neither seconds nor a duration", args: []string{"--connect-timeout", "5x", optURL},
			stderr: usage(`--connect-timeout: "5x" is neither seconds (30, 2.5) nor a duration (500ms, 2m)`), code: ExitUsage},
		{name: "--max-time inf is not seconds", args: []string{"--max-time", "inf", optURL},
			stderr: usage(`--max-time: "inf" is neither seconds (30, 2.5) nor a duration (500ms, 2m)`), code: ExitUsage},
		{name: "--fail-fast", args: []string{"--fail-fast", optURL}, want: func(o *Options) { o.FailFast = true }},
		{name: "--split and --min-split-size", args: []string{"--split", "16", "--min-split-size", "1.5G", optURL},
			want: func(o *Options) { o.Split, o.MinSplitSize, o.minSplitSize = 16, "1.5G", 3<<29 }},
		{name: "--split 64 is the most", args: []string{"--split=64", optURL}, want: func(o *Options) { o.Split = 64 }},
		{name: "--split 65 is refused", args: []string{"--split", "65", optURL},
			stderr: usage("--split must be between 1 and 64, got 65"), code: ExitUsage},
		{name: "--split 0 is refused", args: []string{"--split", "0", optURL},
			stderr: usage("--split must be between 1 and 64, got 0"), code: ExitUsage},
	}
}

// Headers, TLS, proxies, protocols, credentials, encodings.
func requestCases() []optCase {
	return append(mustExistCases(), []optCase{
		{name: "-H repeated keeps every header in order", args: []string{"-H", "X-A: 1", "--header", "X-B: two words", optURL},
			want: func(o *Options) {
				o.Headers = []string{"X-A: 1", "X-B: two words"}
				o.headers = o.Headers
			}},
		{name: "-H @FILE reads a header a line, skipping blanks and comments, CRLF or not", args: []string{"-H", "X-A: 1", "-H", "@hdrs", optURL},
			files: map[string]string{"hdrs": "# token\r\nAuthorization: Bearer t0k\r\n\r\n  \nX-C: 3"},
			want: func(o *Options) {
				o.Headers = []string{"X-A: 1", "@hdrs"}
				o.headers = []string{"X-A: 1", "Authorization: Bearer t0k", "X-C: 3"}
			}},
		{name: "-H @FILE that does not exist is an input error", args: []string{"-H", "@nope", optURL},
			stderr: inputErr("--header @nope: no such file or directory"), code: ExitUsage},
		{name: "-H @FILE with a line that is no header is refused", args: []string{"-H", "@hdrs", optURL},
			files:  map[string]string{"hdrs": "X-A: 1\nno colon here\n"},
			stderr: usage(`--header "no colon here": write it as "Name: value"`), code: ExitUsage},
		{name: "-H without a colon is refused", args: []string{"-H", "X-A", optURL},
			stderr: usage(`--header "X-A": write it as "Name: value"`), code: ExitUsage},
		{name: "-H with a space in its name is refused", args: []string{"-H", "X A: 1", optURL},
			stderr: usage(`--header "X A: 1": write it as "Name: value"`), code: ExitUsage},
		{name: "-H with an empty name is refused", args: []string{"-H", ": 1", optURL},
			stderr: usage(`--header ": 1": write it as "Name: value"`), code: ExitUsage},
		{name: "-A short form", args: []string{"-A", "bot/1", optURL}, want: func(o *Options) { o.UserAgent = "bot/1" }},
		{name: "--user-agent long form", args: []string{"--user-agent", "bot/2", optURL}, want: func(o *Options) { o.UserAgent = "bot/2" }},
		{name: "-k short form", args: []string{"-k", optURL}, want: func(o *Options) { o.Insecure = true }},
		{name: "--insecure long form", args: []string{"--insecure", optURL}, want: func(o *Options) { o.Insecure = true }},
		{name: "-x short form", args: []string{"-x", "http://proxy:3128", optURL}, want: func(o *Options) { o.Proxy = "http://proxy:3128" }},
		{name: "--proxy and --noproxy", args: []string{"--proxy", "socks5h://p:1080", "--noproxy", "a.example,b.example", optURL},
			want: func(o *Options) { o.Proxy, o.NoProxy = "socks5h://p:1080", "a.example,b.example" }},
		{name: "--proto is read case-blind, spaces and empty items ignored", args: []string{"--proto", " HTTPS,, http ", optURL},
			want: func(o *Options) { o.Proto, o.protocols = " HTTPS,, http ", []string{"https", "http"} }},
		{name: "--proto with an unknown protocol is refused", args: []string{"--proto", "http,gopher", optURL},
			stderr: usage(`--proto: unknown protocol "gopher" (supported: http,https,ftp,ftps)`), code: ExitUsage},
		{name: "--proto allowing nothing is refused", args: []string{"--proto", " , ", optURL},
			stderr: usage("--proto allows no protocol"), code: ExitUsage},
		{name: "--netrc", args: []string{"--netrc", optURL}, want: func(o *Options) { o.Netrc = true }},
		{name: "--compressed", args: []string{"--compressed", optURL}, want: func(o *Options) { o.Compressed = true }},
		{name: "-c with --compressed is refused", args: []string{"--compressed", "-c", optURL},
			stderr: usage("-c cannot be combined with --compressed: a byte range of a compressed body is not a range of the saved, decoded file"), code: ExitUsage},
		{name: "-N", args: []string{"-N", optURL}, want: func(o *Options) { o.Update = true }},
		{name: "--update", args: []string{"--update", optURL}, want: func(o *Options) { o.Update = true }},
		{name: "-R", args: []string{"-R", optURL}, want: func(o *Options) { o.RemoteTime, o.remoteTimeSet = true, true }},
		{name: "--remote-time=false with -N", args: []string{"-N", "--remote-time=false", optURL},
			want: func(o *Options) { o.Update, o.remoteTimeSet = true, true }},
		{name: "-N with --no-clobber is refused", args: []string{"-N", "--no-clobber", optURL},
			stderr: usage("-N cannot be combined with --no-clobber: -N replaces a file the server changed, --no-clobber keeps every existing file; give one"), code: ExitUsage},
	}...)
}

// mustExistCases: the flags naming a file that is checked for at parse
// time, so that a typo is a usage error before anything is downloaded.
func mustExistCases() []optCase {
	var cases []optCase
	for _, f := range []struct {
		flag, file string
		set        func(o *Options, v string)
	}{
		{"--cacert", "ca.pem", func(o *Options, v string) { o.CACert = v }},
		{"--netrc-file", "creds", func(o *Options, v string) { o.NetrcFile = v }},
	} {
		cases = append(cases, optCase{name: f.flag + " of a file that exists", args: []string{f.flag, f.file, optURL},
			files: map[string]string{f.file: ""},
			want:  func(o *Options) { f.set(o, f.file) },
		}, optCase{name: f.flag + " of a missing file is refused", args: []string{f.flag, f.file, optURL},
			stderr: usage(f.flag + ": stat " + f.file + ": no such file or directory"), code: ExitUsage,
		})
	}
	return cases
}

// --progress, -q, --json.
func outputCases() []optCase {
	return []optCase{
		{name: "--progress plain is marked as given", args: []string{"--progress", "plain", optURL},
			want: func(o *Options) { o.Progress, o.progressSet = "plain", true }},
		{name: "--progress auto given explicitly is marked as given", args: []string{"--progress=auto", optURL},
			want: func(o *Options) { o.progressSet = true }},
		{name: "--progress bar", args: []string{"--progress", "bar", optURL},
			want: func(o *Options) { o.Progress, o.progressSet = "bar", true }},
		{name: "--progress none", args: []string{"--progress", "none", optURL},
			want: func(o *Options) { o.Progress, o.progressSet = "none", true }},
		{name: "--progress of an unknown mode is refused", args: []string{"--progress", "fancy", optURL},
			stderr: usage(`--progress must be auto, bar, plain or none, got "fancy"`), code: ExitUsage},
		{name: "-q short form", args: []string{"-q", optURL}, want: func(o *Options) { o.Quiet = true }},
		{name: "--quiet and --json", args: []string{"--quiet", "--json", optURL}, want: func(o *Options) { o.Quiet, o.JSON = true, true }},
		{name: "--json-summary implies --json", args: []string{"--json-summary", optURL},
			want: func(o *Options) { o.JSONSummary, o.JSON = true, true }},
		// -q changes only the default: an explicit --progress wins.
		{name: "-q --progress bar draws the bar", args: []string{"-q", "--progress", "bar", optURL},
			want:  func(o *Options) { o.Quiet, o.Progress, o.progressSet = true, "bar", true },
			check: wantMode(report.ModeBar, report.ModeBar)},
		{name: "--progress plain -q keeps the heartbeat", args: []string{"--progress", "plain", "-q", optURL},
			want:  func(o *Options) { o.Quiet, o.Progress, o.progressSet = true, "plain", true },
			check: wantMode(report.ModePlain, report.ModePlain)},
		{name: "-q alone: no bar even on a terminal", args: []string{"-q", optURL},
			want:  func(o *Options) { o.Quiet = true },
			check: wantMode(report.ModeNone, report.ModeNone)},
		{name: "auto: a bar only on a terminal", args: []string{optURL},
			check: wantMode(report.ModeNone, report.ModeBar)},
		{name: "auto on a dumb terminal: progress lines", args: []string{optURL}, env: map[string]string{"TERM": "dumb"},
			check: func(t *testing.T, o *Options) {
				if got := progressMode(o, &IOStreams{StderrTTY: true, Getenv: o.getenv}); got != report.ModePlain {
					t.Errorf("progress mode %d, want plain", got)
				}
			}},
	}
}

// wantMode checks the progress display the options give with stderr a
// pipe and a terminal.
func wantMode(pipe, tty report.Mode) func(*testing.T, *Options) {
	return func(t *testing.T, o *Options) {
		t.Helper()
		if got := progressMode(o, &IOStreams{}); got != pipe {
			t.Errorf("progress mode on a pipe %d, want %d", got, pipe)
		}
		if got := progressMode(o, &IOStreams{StderrTTY: true}); got != tty {
			t.Errorf("progress mode on a terminal %d, want %d", got, tty)
		}
	}
}

// --retry and its delays, --stall-timeout, --max-redirs.
func retryCases() []optCase {
	return []optCase{
		{name: "--retry 0 turns retries off", args: []string{"--retry", "0", optURL}, want: func(o *Options) { o.Retry = 0 }},
		{name: "--retry-delay, --retry-max-delay and --stall-timeout", args: []string{"--retry", "5", "--retry-delay", "250ms", "--retry-max-delay", "1m", "--stall-timeout", "0", optURL},
			want: func(o *Options) {
				o.Retry, o.RetryDelay, o.RetryMaxDelay, o.StallTimeout = 5, 250*time.Millisecond, time.Minute, 0
			}},
		{name: "--retry negative is refused", args: []string{"--retry", "-1", optURL},
			stderr: usage("--retry, --retry-delay, --retry-max-delay and --stall-timeout cannot be negative"), code: ExitUsage},
		{name: "--retry-delay negative is refused", args: []string{"--retry-delay", "-1s", optURL},
			stderr: usage("--retry, --retry-delay, --retry-max-delay and --stall-timeout cannot be negative"), code: ExitUsage},
		{name: "--retry-max-delay negative is refused", args: []string{"--retry-max-delay", "-1s", optURL},
			stderr: usage("--retry, --retry-delay, --retry-max-delay and --stall-timeout cannot be negative"), code: ExitUsage},
		{name: "--stall-timeout negative is refused", args: []string{"--stall-timeout", "-1s", optURL},
			stderr: usage("--retry, --retry-delay, --retry-max-delay and --stall-timeout cannot be negative"), code: ExitUsage},
		{name: "--max-redirs 0 follows none", args: []string{"--max-redirs", "0", optURL}, want: func(o *Options) { o.MaxRedirs = 0 }},
		{name: "--max-redirs negative is refused", args: []string{"--max-redirs", "-1", optURL},
			stderr: usage("--max-redirs cannot be negative"), code: ExitUsage},
	}
}

// --limit-rate, --total-rate and --min-split-size suffixes.
func rateAndSizeCases() []optCase {
	return []optCase{
		{name: "--limit-rate with a K suffix is 1024 multiples", args: []string{"--limit-rate", "500K", optURL},
			want: func(o *Options) { o.LimitRate, o.limitRate = "500K", 500<<10 }},
		{name: "--limit-rate with /s and a fraction", args: []string{"--limit-rate", "1.5M/s", optURL},
			want: func(o *Options) { o.LimitRate, o.limitRate = "1.5M/s", 3<<19 }},
		{name: "--limit-rate in plain bytes", args: []string{"--limit-rate", "100000", optURL},
			want: func(o *Options) { o.LimitRate, o.limitRate = "100000", 100000 }},
		{name: "--limit-rate 0 means no cap", args: []string{"--limit-rate", "0", optURL},
			want: func(o *Options) { o.LimitRate = "0" }},
		{name: "--total-rate with a G suffix, beside --limit-rate", args: []string{"--total-rate", "1G", "--limit-rate", "2m", optURL},
			want: func(o *Options) {
				o.TotalRate, o.totalRate, o.LimitRate, o.limitRate = "1G", 1<<30, "2m", 2<<20
			}},
		{name: "--limit-rate that is no speed is refused", args: []string{"--limit-rate", "fast", optURL},
			stderr: usage(`--limit-rate "fast": write bytes per second, e.g. 500K, 2M or 100000`), code: ExitUsage},
		{name: "--limit-rate below a byte a second is refused", args: []string{"--limit-rate", "0.5", optURL},
			stderr: usage(`--limit-rate "0.5" is below 1 byte per second`), code: ExitUsage},
		{name: "--total-rate too large is refused", args: []string{"--total-rate", "9999999G", optURL},
			stderr: usage(`--total-rate "9999999G" is too large`), code: ExitUsage},
		{name: "--total-rate with an exponent is refused", args: []string{"--total-rate", "1e6", optURL},
			stderr: usage(`--total-rate "1e6": write bytes per second, e.g. 500K, 2M or 100000`), code: ExitUsage},
		{name: "--min-split-size with a k suffix and B", args: []string{"--min-split-size", "512kB", optURL},
			want: func(o *Options) { o.MinSplitSize, o.minSplitSize = "512kB", 512<<10 }},
		{name: "--min-split-size that is no size is refused", args: []string{"--min-split-size", "ten", optURL},
			stderr: usage(`--min-split-size: "ten" is not a size: write e.g. 500K, 20M or 1G`), code: ExitUsage},
		{name: "--min-split-size negative is refused", args: []string{"--min-split-size=-1M", optURL},
			stderr: usage(`--min-split-size: "-1M" is not a size: write e.g. 500K, 20M or 1G`), code: ExitUsage},
	}
}

// --shard and --shard-from-env.
func shardCases() []optCase {
	job := func(index, count string) map[string]string {
		return map[string]string{"JOB_COMPLETION_INDEX": index, "MULTIGET_SHARD_COUNT": count}
	}
	return []optCase{
		{name: "--shard K/N", args: []string{"--shard", "2/4", optURL},
			want: func(o *Options) { o.Shard, o.shardK, o.shardN = "2/4", 2, 4 }},
		{name: "--shard 1/1 takes everything", args: []string{"--shard=1/1", optURL},
			want: func(o *Options) { o.Shard, o.shardK, o.shardN = "1/1", 1, 1 }},
		{name: "--shard with K over N is refused", args: []string{"--shard", "5/4", optURL},
			stderr: usage(`--shard "5/4": write K/N with 1 <= K <= N, e.g. --shard 2/4`), code: ExitUsage},
		{name: "--shard 0/N is refused: K counts from 1", args: []string{"--shard", "0/4", optURL},
			stderr: usage(`--shard "0/4": write K/N with 1 <= K <= N, e.g. --shard 2/4`), code: ExitUsage},
		{name: "--shard without a slash is refused", args: []string{"--shard", "2", optURL},
			stderr: usage(`--shard "2": write K/N with 1 <= K <= N, e.g. --shard 2/4`), code: ExitUsage},
		{name: "--shard-from-env reads a 0-based index", args: []string{"--shard-from-env", optURL}, env: job("0", "3"),
			want: func(o *Options) { o.ShardFromEnv, o.shardK, o.shardN = true, 1, 3 }},
		{name: "--shard-from-env with the last index", args: []string{"--shard-from-env", optURL}, env: job("2", "3"),
			want: func(o *Options) { o.ShardFromEnv, o.shardK, o.shardN = true, 3, 3 }},
		{name: "--shard-from-env without the variables is refused", args: []string{"--shard-from-env", optURL},
			stderr: usage(`--shard-from-env needs JOB_COMPLETION_INDEX (0-based, set by an Indexed Job) and MULTIGET_SHARD_COUNT (the number of shards); got JOB_COMPLETION_INDEX="" MULTIGET_SHARD_COUNT=""`), code: ExitUsage},
		{name: "--shard-from-env with the index out of range is refused", args: []string{"--shard-from-env", optURL}, env: job("3", "3"),
			stderr: usage(`--shard-from-env: JOB_COMPLETION_INDEX="3" must be 0..MULTIGET_SHARD_COUNT-1, and MULTIGET_SHARD_COUNT="3" at least 1`), code: ExitUsage},
		{name: "the shard variables are ignored without --shard-from-env", args: []string{optURL}, env: job("1", "2"),
			want: func(o *Options) {}},
		{name: "--shard with --shard-from-env is refused", args: []string{"--shard", "1/2", "--shard-from-env", optURL}, env: job("0", "2"),
			stderr: usage("give --shard or --shard-from-env, not both"), code: ExitUsage},
	}
}

// --config and MULTIGET_CONFIG against the command line.
func configCases() []optCase {
	team := map[string]string{"team.conf": "\ufeff# CI settings\n" +
		"dir = conf-out\n" +
		"parallel = 16\n" +
		"\n" +
		"header = X-A: a=1\n" +
		"--header = X-B: b # a comment after a blank\n" +
		"header = 'X-C: c # kept in quotes'  # a comment\n" +
		"header = \"X-D: d\"\n" +
		"proxy = http://p:3128/#frag\n" +
		"retry = 4\t# a tab before the comment\n" +
		"tree # a bool flag alone, then a comment = true\n" +
		"no-clobber\n" +
		"insecure = false\n" +
		"limit-rate = 2M\n" +
		"progress = plain\n"}
	fromTeam := func(o *Options) {
		o.Dir, o.Parallel, o.NoClobber = "conf-out", 16, true
		o.Headers = []string{"X-A: a=1", "X-B: b", "X-C: c # kept in quotes", "X-D: d"}
		o.Proxy, o.Retry, o.Tree = "http://p:3128/#frag", 4, true
		o.headers = o.Headers
		o.LimitRate, o.limitRate = "2M", 2<<20
		o.Progress, o.progressSet = "plain", true
	}
	with := func(files map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range []map[string]string{files, more} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	return []optCase{
		{name: "--config sets flags from name = value lines", args: []string{"--config", "team.conf", optURL}, files: team,
			want: func(o *Options) { fromTeam(o); o.Config = "team.conf" }},
		{name: "MULTIGET_CONFIG names the file when --config is not given", args: []string{optURL}, files: team,
			env: map[string]string{"MULTIGET_CONFIG": "team.conf"}, want: fromTeam},
		{name: "--config wins over MULTIGET_CONFIG", args: []string{"--config", "team.conf", optURL}, files: team,
			env:  map[string]string{"MULTIGET_CONFIG": "missing.conf"},
			want: func(o *Options) { fromTeam(o); o.Config = "team.conf" }},
		{name: "command-line flags win over the file, a repeatable one replacing its list",
			args: []string{"--config", "team.conf", "-j", "2", "-H", "X-C: cli", "--progress", "none", optURL}, files: team,
			want: func(o *Options) {
				fromTeam(o)
				o.Config, o.Parallel, o.Progress = "team.conf", 2, "none"
				o.Headers = []string{"X-C: cli"}
				o.headers = o.Headers
			}},
		{name: "a config's -i lists stand in for URL arguments", args: []string{"--config", "lists.conf"},
			files: map[string]string{"lists.conf": "input = a.txt\ninput = -\n"},
			want:  func(o *Options) { o.Config, o.URLs, o.Inputs = "lists.conf", nil, []string{"a.txt", "-"} }},
		{name: "values from the file are checked like the command line's", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "split = 100\n"},
			stderr: usage("--split must be between 1 and 64, got 100"), code: ExitUsage},
		{name: "a conflict between the file and the command line is refused", args: []string{"--config", "c.conf", "-c", optURL},
			files:  map[string]string{"c.conf": "compressed\n"},
			stderr: usage("-c cannot be combined with --compressed: a byte range of a compressed body is not a range of the saved, decoded file"), code: ExitUsage},
		{name: "an unknown name in the file names FILE:LINE", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "dir = x\n# typo below\nparalel = 4\n"},
			stderr: usage(`c.conf:3: unknown option "paralel": did you mean parallel?`), code: ExitUsage},
		{name: "an unknown name near no flag names the flags to use", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "speed = 4\n"},
			stderr: usage(`c.conf:1: unknown option "speed" (use the long flag names of multiget --help, without --)`), code: ExitUsage},
		{name: "a quoted value without its closing quote is refused", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "user-agent = \"bot/1\n"},
			stderr: usage(`c.conf:1: user-agent: the value has no closing "`), code: ExitUsage},
		{name: "text after a closing quote is refused", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "user-agent = 'bot' 1\n"},
			stderr: usage(`c.conf:1: user-agent: text after the closing quote: put the whole value in the quotes`), code: ExitUsage},
		{name: "a bad bool value in the file says how to write it", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "insecure = maybe # unsure\n"},
			stderr: usage(`c.conf:1: insecure: "maybe" is not true or false: write insecure alone to turn it on, or insecure = false`), code: ExitUsage},
		{name: "a short name in the file is unknown", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "j = 4\n"},
			stderr: usage(`c.conf:1: unknown option "j" (use the long flag names of multiget --help, without --)`), code: ExitUsage},
		{name: "config cannot be set from the file", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "config = other.conf\n"},
			stderr: usage(`c.conf:1: unknown option "config" (use the long flag names of multiget --help, without --)`), code: ExitUsage},
		{name: "a bad value in the file names FILE:LINE", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "retry = 2\nparallel = many\n"},
			stderr: usage(`c.conf:2: parallel: "many" is not a whole number: write e.g. parallel = 64`), code: ExitUsage},
		{name: "an inline comment after a value is not part of it", args: []string{"--config", "c.conf", optURL},
			files: map[string]string{"c.conf": "parallel = 4 # comment\n"},
			want:  func(o *Options) { o.Config, o.Parallel = "c.conf", 4 }},
		{name: "a flag that takes a value given alone in the file is refused", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "dir\n"},
			stderr: usage("c.conf:1: dir needs a value: write dir = DIR"), code: ExitUsage},
		{name: "a bad line is refused even for a flag the command line gives", args: []string{"--config", "c.conf", "-d", "cli", optURL},
			files:  map[string]string{"c.conf": "dir\n"},
			stderr: usage("c.conf:1: dir needs a value: write dir = DIR"), code: ExitUsage},
		{name: "a missing config file is an input error", args: []string{"--config", "missing.conf", optURL},
			stderr: inputErr("cannot read config missing.conf: no such file or directory"), code: ExitUsage},
		{name: "a missing MULTIGET_CONFIG file is an input error", args: []string{optURL},
			env:    map[string]string{"MULTIGET_CONFIG": "gone.conf"},
			stderr: inputErr("cannot read config gone.conf: no such file or directory"), code: ExitUsage},
		{name: "an empty MULTIGET_CONFIG names no file", args: []string{optURL},
			env: map[string]string{"MULTIGET_CONFIG": ""}, want: func(o *Options) {}},
		{name: "the default config is $XDG_CONFIG_HOME/multiget/config", args: []string{optURL},
			files: map[string]string{"xdg/multiget/config": "parallel = 7\n", "home/.config/multiget/config": "retry = 9\n"},
			env:   map[string]string{"XDG_CONFIG_HOME": "$PWD/xdg", "HOME": "$PWD/home"},
			want:  func(o *Options) { o.Parallel = 7 }},
		{name: "without XDG_CONFIG_HOME the default is ~/.config/multiget/config", args: []string{optURL},
			files: map[string]string{"home/.config/multiget/config": "retry = 9\n"},
			env:   map[string]string{"HOME": "$PWD/home"},
			want:  func(o *Options) { o.Retry = 9 }},
		{name: "a relative XDG_CONFIG_HOME is ignored, as the XDG rules say", args: []string{optURL},
			files: map[string]string{"xdg/multiget/config": "parallel = 7\n", "home/.config/multiget/config": "retry = 9\n"},
			env:   map[string]string{"XDG_CONFIG_HOME": "xdg", "HOME": "$PWD/home"},
			want:  func(o *Options) { o.Retry = 9 }},
		{name: "a missing default config is no error", args: []string{optURL},
			env:  map[string]string{"XDG_CONFIG_HOME": "$PWD/xdg", "HOME": "$PWD/home"},
			want: func(o *Options) {}},
		{name: "a default config under a file is missing, no error", args: []string{optURL},
			files: map[string]string{"xdg": "a file, not a directory\n"},
			env:   map[string]string{"XDG_CONFIG_HOME": "$PWD/xdg"},
			want:  func(o *Options) {}},
		{name: "MULTIGET_CONFIG wins over the default config", args: []string{optURL},
			files: map[string]string{"xdg/multiget/config": "parallel = 7\n", "team.conf": "parallel = 2\n"},
			env:   map[string]string{"XDG_CONFIG_HOME": "$PWD/xdg", "MULTIGET_CONFIG": "team.conf"},
			want:  func(o *Options) { o.Parallel = 2 }},
		{name: "--config wins over the default config", args: []string{"--config", "team.conf", optURL},
			files: map[string]string{"home/.config/multiget/config": "parallel = 7\n", "team.conf": "retry = 1\n"},
			env:   map[string]string{"HOME": "$PWD/home"},
			want:  func(o *Options) { o.Config, o.Retry = "team.conf", 1 }},
		{name: "--no-config reads neither MULTIGET_CONFIG nor the default", args: []string{"--no-config", optURL},
			files: map[string]string{"xdg/multiget/config": "parallel = 7\n", "team.conf": "parallel = 2\n"},
			env:   map[string]string{"XDG_CONFIG_HOME": "$PWD/xdg", "MULTIGET_CONFIG": "team.conf"},
			want:  func(o *Options) { o.NoConfig = true }},
		{name: "--no-config with --config is refused", args: []string{"--no-config", "--config", "team.conf", optURL},
			files:  map[string]string{"team.conf": "parallel = 2\n"},
			stderr: usage("give --config FILE or --no-config, not both"), code: ExitUsage},
		{name: "no-config cannot be set from a file", args: []string{"--config", "c.conf", optURL},
			files:  map[string]string{"c.conf": "no-config\n"},
			stderr: usage(`c.conf:1: unknown option "no-config" (use the long flag names of multiget --help, without --)`), code: ExitUsage},
		{name: "a file's flags combine with the command line's files", args: []string{"--config", "c.conf", "--cacert", "ca.pem", optURL},
			files: with(map[string]string{"c.conf": "netrc-file = creds\n"}, map[string]string{"creds": "", "ca.pem": ""}),
			want:  func(o *Options) { o.Config, o.NetrcFile, o.CACert = "c.conf", "creds", "ca.pem" }},
	}
}

// How cobra and pflag read the command line: unknown flags, missing
// values, grouped short flags, "--", and commands that are not a run.
func flagSyntaxCases() []optCase {
	return []optCase{
		{name: "an unknown long flag is a usage error", args: []string{"--bogus", optURL},
			stderr: usage("unknown flag: --bogus"), code: ExitUsage},
		{name: "a misspelt long flag gets the nearest name", args: []string{"--paralel", "4", optURL},
			stderr: usage("unknown flag --paralel: did you mean --parallel?"), code: ExitUsage},
		{name: "two letters swapped are one typo", args: []string{"--dyr-run", optURL},
			stderr: usage("unknown flag --dyr-run: did you mean --dry-run?"), code: ExitUsage},
		{name: "a misspelt flag with its value attached", args: []string{"--conect-timeout=5", optURL},
			stderr: usage("unknown flag --conect-timeout: did you mean --connect-timeout?"), code: ExitUsage},
		{name: "a misspelt long flag with one dash", args: []string{"-paralel", "4", optURL},
			stderr: usage("unknown flag -paralel: did you mean --parallel?"), code: ExitUsage},
		{name: "a long flag with one dash", args: []string{"-parallel", "4", optURL},
			stderr: usage("unknown flag -parallel: did you mean --parallel? (long flags take two dashes)"), code: ExitUsage},
		{name: "an unknown short flag is a usage error", args: []string{"-z", optURL},
			stderr: usage("unknown shorthand flag: 'z' in -z"), code: ExitUsage},
		{name: "a flag missing its value is a usage error", args: []string{optURL, "-j"},
			stderr: usage("-j/--parallel needs a value: write -j N"), code: ExitUsage},
		{name: "a long flag missing its value names the placeholder", args: []string{optURL, "--max-time"},
			stderr: usage("--max-time needs a value: write --max-time DUR"), code: ExitUsage},
		{name: "a bool flag given a value it cannot take is a usage error", args: []string{"--tree=maybe", optURL},
			stderr: usage(`--tree: "maybe" is not true or false: write --tree alone to turn it on, or --tree=false`), code: ExitUsage},
		{name: "short bool flags group", args: []string{"-qkc", optURL},
			want: func(o *Options) { o.Quiet, o.Insecure, o.Continue = true, true, true }},
		{name: "flags after URLs still count", args: []string{optURL, "-j", "2", "http://h/b", "--tree"},
			want: func(o *Options) { o.URLs, o.Parallel, o.Tree = []string{optURL, "http://h/b"}, 2, true }},
		{name: "after -- every argument is a URL", args: []string{"-q", "--", optURL, "-j"},
			want: func(o *Options) { o.Quiet, o.URLs = true, []string{optURL, "-j"} }},
		{name: "an argument named like a subcommand, but with ://, is a URL", args: []string{"completion://h/x"},
			want: func(o *Options) { o.URLs = []string{"completion://h/x"} }},
		{name: "completion without a shell is a usage error", args: []string{"completion"},
			stderr: usage("multiget completion: accepts 1 arg(s), received 0"), code: ExitUsage},
		{name: "completion of an unknown shell is a usage error", args: []string{"completion", "tcsh"},
			stderr: usage(`multiget completion: invalid argument "tcsh" for "multiget completion"`), code: ExitUsage},
	}
}

// --help and --version print and exit 0 without a run.
type helpCase struct {
	args []string
	want string // in stdout
}

func helpCases() []helpCase {
	return []helpCase{
		{[]string{"--help"}, "Usage:\n  multiget [flags] [URL...]"},
		{[]string{"-h", optURL}, "Usage:\n  multiget [flags] [URL...]"},
		{[]string{"--version"}, "multiget " + version() + "\n"},
		{[]string{"-V", "-j", "0"}, "multiget " + version() + "\n"},
	}
}

func TestOptionsHelpAndVersion(t *testing.T) {
	for _, c := range helpCases() {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			got, code, stdout, stderr := parse(t, optCase{args: c.args})
			if got != nil || code != ExitOK || stderr != "" || !strings.Contains(stdout, c.want) {
				t.Errorf("run started: %v, exit %d, stderr %q, stdout:\n%s\nwant it to contain %q", got != nil, code, stderr, stdout, c.want)
			}
		})
	}
}

// Every flag the command has, in its long and its short form, is given
// by some case above, so a flag added later cannot go untested here.
func TestOptionsCoverEveryFlag(t *testing.T) {
	var args []string
	for _, c := range optionCases() {
		args = append(args, c.args...)
	}
	for _, c := range helpCases() {
		args = append(args, c.args...)
	}
	given := func(form string) bool {
		for _, a := range args {
			if a == form || strings.HasPrefix(a, form+"=") ||
				len(form) == 2 && strings.HasPrefix(a, form) && !strings.HasPrefix(a, "--") {
				return true
			}
		}
		return false
	}
	root := NewRootCmd(&IOStreams{}, nil)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	root.Flags().VisitAll(func(f *pflag.Flag) {
		if !given("--" + f.Name) {
			t.Errorf("no case gives --%s", f.Name)
		}
		if f.Shorthand != "" && !given("-"+f.Shorthand) {
			t.Errorf("no case gives -%s (--%s)", f.Shorthand, f.Name)
		}
	})
}
