package cmd

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func rootFlags() *pflag.FlagSet {
	root := NewRootCmd(&IOStreams{}, nil)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	return root.Flags()
}

// Every flag is in exactly one group of --help, and every name in the
// table is a flag.
func TestFlagGroupsCoverEveryFlag(t *testing.T) {
	fs := rootFlags()
	seen := map[string]string{}
	for _, g := range flagGroups {
		for _, name := range g.Flags {
			if prev, dup := seen[name]; dup {
				t.Errorf("--%s is in the groups %q and %q", name, prev, g.Title)
			}
			seen[name] = g.Title
			if fs.Lookup(name) == nil {
				t.Errorf("group %q names --%s, which is no flag", g.Title, name)
			}
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if _, ok := seen[f.Name]; !ok {
			t.Errorf("--%s is in no group of flagGroups (cmd/help.go)", f.Name)
		}
	})
}

// One placeholder style: every flag that takes a value names it in
// capitals in backquotes (N, DUR, FILE, ...), never by its Go type.
func TestFlagPlaceholders(t *testing.T) {
	word := regexp.MustCompile(`^[A-Z][A-Z0-9]*([/:|][A-Z][A-Z0-9]*|\[:[A-Z]+\])*$`)
	rootFlags().VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" || f.Name == "version" {
			return
		}
		if !strings.Contains(f.Usage, "`") {
			t.Errorf("--%s: its usage has no `PLACEHOLDER`: %q", f.Name, f.Usage)
		}
		// -C takes the one word curl's users type: "-".
		if p := placeholder(f); !word.MatchString(p) && !(f.Name == "continue-at" && p == "-") {
			t.Errorf("--%s: placeholder %q is not in the style N, DUR, FILE, K/N, USER[:PASS]", f.Name, p)
		}
	})
}

func helpOutput(t *testing.T) string {
	t.Helper()
	var out, errb bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Getenv: func(string) string { return "" }}
	if code := Execute(context.Background(), ios, []string{"--help"}); code != ExitOK || errb.Len() > 0 {
		t.Fatalf("--help: exit %d, stderr %q", code, errb.String())
	}
	return out.String()
}

// --help reads top-down: usage in the first lines, then the flags by
// group, the long sections, and the examples last; no line is wider than
// a terminal's 80 columns, and the whole is short enough to read.
func TestHelpLayout(t *testing.T) {
	help := helpOutput(t)
	lines := strings.Split(strings.TrimSuffix(help, "\n"), "\n")
	at := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Errorf("--help has no line starting %q", prefix)
		return -1
	}
	if u := at("Usage:"); u < 0 || u > 3 {
		t.Errorf("Usage: is on line %d, want one of the first four", u+1)
	}
	prev := at("Usage:")
	for _, g := range flagGroups {
		i := at(g.Title + ":")
		if i <= prev {
			t.Errorf("group %q (line %d) is not after line %d", g.Title, i+1, prev+1)
		}
		prev = i
	}
	for _, s := range []string{"LIST FORMAT", "EXIT STATUS", "Examples:"} {
		i := at(s)
		if i <= prev {
			t.Errorf("%q (line %d) is not after line %d", s, i+1, prev+1)
		}
		prev = i
	}
	for i, l := range lines {
		if len([]rune(l)) > 80 {
			t.Errorf("line %d is %d columns wide: %q", i+1, len([]rune(l)), l)
		}
	}
	// About 70 flags in 8 groups, then sections of a few lines each (the
	// README has the detail): 205 lines at this writing.
	if len(lines) > 220 {
		t.Errorf("--help is %d lines long", len(lines))
	}
	// No Go type stands for a value.
	if m := regexp.MustCompile(`(?m)^ +(-\w, )?--[\w-]+ (int|string|duration|stringArray|strings)\b.*$`).FindString(help); m != "" {
		t.Errorf("a flag shows a Go type as its value: %q", m)
	}
}
