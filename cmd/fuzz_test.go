package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// FuzzConfig reads each input as a config file (applyConfig) and each of
// its lines as splitConfigLine sees them.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		// configCases and config.txtar.
		"\ufeff# CI settings\ndir = conf-out\nparallel = 16\n\nheader = X-A: a=1\n--header = X-B: b # a comment after a blank\n" +
			"header = 'X-C: c # kept in quotes'  # a comment\nheader = \"X-D: d\"\nproxy = http://p:3128/#frag\n" +
			"retry = 4\t# a tab before the comment\ntree # a bool flag alone, then a comment = true\nno-clobber\n" +
			"insecure = false\nlimit-rate = 2M\nprogress = plain\n",
		"input = a.txt\ninput = -\n",
		"split = 100\n",
		"compressed\n",
		"dir = x\n# typo below\nparalel = 4\n",
		"speed = 4\n",
		"user-agent = \"bot/1\n",
		"user-agent = 'bot' 1\n",
		"insecure = maybe # unsure\n",
		"j = 4\n",
		"config = other.conf\n",
		"retry = 2\nparallel = many\n",
		"parallel = 4 # comment\n",
		"dir\n",
		"no-config\n",
		"netrc-file = creds\n",
		"# download settings checked into the repository\ndir = conf-out\nparallel = 2\n\nheader = X-A: a=1\n" +
			"--header = X-B: b\nuser-agent = team-bot/1.0\nno-clobber\nretry = 1\n",
		// Aliases, a curl flag, CRLF and odd spacing.
		"output-dir = o\r\nsilent\r\ncontinue-at = -\r\n",
		"max-time = 1.5\n  --  header=  'a\"b' #c\n\t#x\n=v\n--\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		lines := configLines(s)
		rendered := make([]string, len(lines))
		for i, raw := range lines {
			line := strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			rendered[i] = raw
			name, value, hasValue, err := splitConfigLine(line)
			n2, v2, h2, err2 := splitConfigLine(line)
			if n2 != name || v2 != value || h2 != hasValue || (err == nil) != (err2 == nil) {
				t.Fatalf("splitConfigLine(%q) not deterministic", line)
			}
			if err != nil {
				if name != "" || value != "" || hasValue {
					t.Fatalf("splitConfigLine(%q) = %q, %q, %v with error %v", line, name, value, hasValue, err)
				}
				continue
			}
			if !hasValue && value != "" {
				t.Fatalf("splitConfigLine(%q): value %q but no value", line, value)
			}
			r, ok := renderConfigLine(name, value, hasValue)
			if !ok {
				continue
			}
			rendered[i] = r
			if n, v, h, err := splitConfigLine(r); err != nil || n != name || v != value || h != hasValue {
				t.Fatalf("splitConfigLine(%q) = %q, %q, %v; its rendering %q gives %q, %q, %v, %v",
					line, name, value, hasValue, r, n, v, h, err)
			}
		}

		path := filepath.Join(dir, "c.conf")
		state, err := applyConfigText(t, path, s)
		if again, err2 := applyConfigText(t, path, s); again != state || errString(err) != errString(err2) {
			t.Fatalf("applyConfig not deterministic: %v, then %v", err, err2)
		}
		// The same lines written out again as "--name = 'value'" apply the
		// same way, or fail on the same line the same way.
		if st, err2 := applyConfigText(t, path, strings.Join(rendered, "\n")); st != state || errString(err) != errString(err2) {
			t.Fatalf("the rendered config %q applies as %v, the original as %v", strings.Join(rendered, "\n"), err2, err)
		}
		if err == nil {
			return
		}
		var fe *FlagError
		if !errors.As(err, &fe) {
			t.Fatalf("not a usage error: %v", err)
		}
		// A usage error names FILE:LINE, a line of the file that is not
		// blank or a comment; the lines before it apply, the file cut after
		// it fails the same way.
		msg, ok := strings.CutPrefix(err.Error(), path+":")
		num, _, ok2 := strings.Cut(msg, ": ")
		n, err3 := strconv.Atoi(num)
		if !ok || !ok2 || err3 != nil || n < 1 || n > len(lines) {
			t.Fatalf("error does not name %s:LINE: %v", path, err)
		}
		if l := strings.TrimSpace(strings.TrimPrefix(lines[n-1], "\ufeff")); l == "" || l[0] == '#' {
			t.Fatalf("error names line %d, %q, blank or a comment: %v", n, lines[n-1], err)
		}
		if _, err := applyConfigText(t, path, strings.Join(lines[:n-1], "\n")); err != nil {
			t.Fatalf("error names line %d, but the lines before it fail: %v", n, err)
		}
		if _, err2 := applyConfigText(t, path, strings.Join(lines[:n], "\n")); errString(err2) != err.Error() {
			t.Fatalf("error %v, but the file cut after line %d gives %v", err, n, err2)
		}
	})
}

// configLines splits s into lines as bufio.ScanLines does: at "\n", a "\r"
// before it dropped, no empty line after a final "\n".
func configLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// renderConfigLine writes what splitConfigLine read in a form of its own:
// "--name", or "--name = " and the value, quoted when it holds no quote of
// one kind, else as it is; false when it cannot be written (a value with
// both quotes that a quote starts, or blanks around, or a comment in).
func renderConfigLine(name, value string, hasValue bool) (string, bool) {
	if !hasValue {
		return "--" + name, true
	}
	switch {
	case !strings.Contains(value, `"`):
		return "--" + name + ` = "` + value + `"`, true
	case !strings.Contains(value, "'"):
		return "--" + name + " = '" + value + "'", true
	case value[0] != '"' && value[0] != '\'' && value == strings.TrimSpace(value) && commentStart(" "+value) < 0:
		return "--" + name + " = " + value, true
	}
	return "", false
}

// applyConfigText writes s to path and applies it to a new root command,
// returning every flag's value and whether it was set.
func applyConfigText(t *testing.T, path, s string) (string, error) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewRootCmd(&IOStreams{Getenv: func(string) string { return "" }}, nil)
	err := applyConfig(c, path, true)
	return flagState(c), err
}

func flagState(c *cobra.Command) string {
	var b strings.Builder
	c.Flags().VisitAll(func(fl *pflag.Flag) {
		b.WriteString(fl.Name + "=" + strconv.Quote(fl.Value.String()) + " " + strconv.FormatBool(fl.Changed) + "\n")
	})
	return b.String()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
