package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/multiget/multiget/cmd"
	"github.com/multiget/multiget/internal/list"
)

// The README is the users' guide: everything the command has (flags, list
// options, output keys, exit codes, environment variables) must be in it
// and in --help, whose text is also the man page's (internal/mangen).

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the text of s from the line head to the next line that starts
// with end (or to the end of s).
func section(t *testing.T, s, head, end string) string {
	t.Helper()
	i := strings.Index(s, "\n"+head+"\n")
	if i < 0 {
		t.Fatalf("no section %q", head)
	}
	s = s[i+len(head)+2:]
	if j := strings.Index(s, "\n"+end); j >= 0 {
		s = s[:j]
	}
	return s
}

// helpText is --help's text above the flags, which is also the man page's.
func helpText() string { return cmd.NewRootCmd(&cmd.IOStreams{}, nil).Long }

// The first screen says what multiget is and the two set-up commands.
func TestReadmeFirstScreen(t *testing.T) {
	lines := strings.Split(readme(t), "\n")
	first := strings.Join(lines[:min(len(lines), 15)], "\n")
	for _, want := range []string{"multiget is a command-line downloader", "    scripts/multiget ARGS...", "    scripts/test "} {
		if !strings.Contains(first, want) {
			t.Errorf("the README's first 15 lines lack %q:\n%s", want, first)
		}
	}
}

// Every flag of --help has a row in the README's flag table.
func TestReadmeFlagTable(t *testing.T) {
	readme := readme(t)
	root := cmd.NewRootCmd(&cmd.IOStreams{}, nil)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	n := 0
	root.Flags().VisitAll(func(f *pflag.Flag) {
		n++
		row := "| `--" + f.Name
		if f.Shorthand != "" {
			row = "| `-" + f.Shorthand + ", --" + f.Name
		}
		if !strings.Contains(readme, row) {
			t.Errorf("README flag table has no row starting %q", row)
		}
	})
	if n < 40 {
		t.Errorf("only %d flags seen", n)
	}
}

// Every list option key is in the README's list format and in --help.
func TestReadmeListOptions(t *testing.T) {
	lf := section(t, readme(t), "## List format", "## ")
	help := helpText()
	for k := range list.KnownOptions {
		if !strings.Contains(lf, "`"+k+"=") {
			t.Errorf("README's List format does not name the option %s=", k)
		}
		if !strings.Contains(help, k+"=") {
			t.Errorf("--help does not name the list option %s=", k)
		}
	}
}

// Every exit code has a row in the README's table and a line in --help.
func TestReadmeExitCodes(t *testing.T) {
	table := section(t, readme(t), "### Exit status", "#")
	help := section(t, helpText(), "EXIT STATUS", "\n")
	for _, code := range []int{cmd.ExitOK, cmd.ExitFailed, cmd.ExitUsage, cmd.ExitInterrupted} {
		c := strconv.Itoa(code)
		if !strings.Contains(table, "\n| "+c+" | ") {
			t.Errorf("README's exit status table has no row for %s", c)
		}
		if !regexp.MustCompile(`(?m)^  ` + c + ` +\S`).MatchString(help) {
			t.Errorf("--help's EXIT STATUS has no line for %s", c)
		}
	}
}

// Every key of a --json object has a row in the README's table and is
// named in --help; the README's rows are the object's keys, in order.
func TestReadmeJSONKeys(t *testing.T) {
	var out, errb bytes.Buffer
	ios := &cmd.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }}
	if code := cmd.Execute(context.Background(), ios, []string{"--dry-run", "--json", "-d", t.TempDir(), "http://h/a"}); code != cmd.ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	dec := json.NewDecoder(&out)
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q (%v)", out.String(), err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	var rows []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (?:string|int|object) \\|").FindAllStringSubmatch(section(t, readme(t), "## Output", "## "), -1) {
		rows = append(rows, m[1])
	}
	if strings.Join(rows, " ") != strings.Join(keys, " ") {
		t.Errorf("README's --json table has the keys\n  %v\nan object has\n  %v", rows, keys)
	}
	help := section(t, helpText(), "OUTPUT", "\n")
	for _, k := range keys {
		if !regexp.MustCompile(`\b` + k + `\b`).MatchString(help) {
			t.Errorf("--help's OUTPUT does not name the --json key %s", k)
		}
	}
}

// The --json-summary record's keys are in the README's Output section and
// in --help's OUTPUT.
func TestReadmeJSONSummaryKeys(t *testing.T) {
	var out, errb bytes.Buffer
	ios := &cmd.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }}
	if code := cmd.Execute(context.Background(), ios, []string{"--json-summary", "--dry-run", "-d", t.TempDir(), "https://example.com/a"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rec map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil || string(rec["record"]) != `"summary"` {
		t.Fatalf("the last line is not the summary record: %q (%v)", out.String(), err)
	}
	doc := section(t, readme(t), "## Output", "## ")
	help := section(t, helpText(), "OUTPUT", "\n")
	for k := range rec {
		if !strings.Contains(doc, "`"+k+"`") {
			t.Errorf("README's Output section does not name the summary key %s", k)
		}
		if !regexp.MustCompile(`\b` + k + `\b`).MatchString(help) {
			t.Errorf("--help's OUTPUT does not name the summary key %s", k)
		}
	}
}

// libcurl reads these itself (the proxy variables as curl's own tool does;
// HOME for --netrc's default file).
var libcurlEnv = []string{"http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "HOME"}

// commandEnv is every environment variable multiget's own code reads: the
// names in getenv calls and in the env... constants of its packages.
func commandEnv(t *testing.T) []string {
	t.Helper()
	re := regexp.MustCompile(`(?:[Gg]etenv|LookupEnv)\("(\w+)"\)|\benv[A-Z]\w*\s*=\s*"(\w+)"`)
	seen := map[string]bool{}
	for _, dir := range []string{".", "../internal/engine", "../internal/report", "../internal/naming", "../internal/list", "../internal/sums"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		cfiles, _ := filepath.Glob(filepath.Join(dir, "*.[ch]"))
		for _, f := range append(files, cfiles...) {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				seen[m[1]+m[2]] = true
			}
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Every environment variable the command reads is in the README's
// Environment table and in --help's ENVIRONMENT.
func TestReadmeEnvironment(t *testing.T) {
	own := commandEnv(t)
	for _, want := range []string{"MULTIGET_CONFIG", "JOB_COMPLETION_INDEX", "MULTIGET_SHARD_COUNT", "GITHUB_ACTIONS", "NO_COLOR", "TERM"} {
		found := false
		for _, n := range own {
			found = found || n == want
		}
		if !found {
			t.Errorf("the scan of the sources missed %s (found %v)", want, own)
		}
	}
	table := section(t, readme(t), "### Environment", "#")
	help := section(t, helpText(), "ENVIRONMENT", "\n")
	for _, n := range append(own, libcurlEnv...) {
		if !strings.Contains(table, "`"+n+"`") {
			t.Errorf("README's Environment table does not name %s", n)
		}
		if !regexp.MustCompile(`\b` + n + `\b`).MatchString(help) {
			t.Errorf("--help's ENVIRONMENT does not name %s", n)
		}
	}
}
