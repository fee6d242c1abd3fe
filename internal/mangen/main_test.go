package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/multiget/multiget/cmd"
)

// The page has every flag, every section of --help's text (list format,
// output, environment, exit status, ...) and the completion command.
func TestPageHasEverything(t *testing.T) {
	out := filepath.Join(t.TempDir(), "multiget.1")
	t.Setenv("SOURCE_DATE_EPOCH", "0")
	if err := run(out, "v0.0.0-test"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	root := cmd.NewRootCmd(&cmd.IOStreams{Out: io.Discard, ErrOut: io.Discard}, nil)
	var want []string
	root.Flags().VisitAll(func(f *pflag.Flag) { want = append(want, `\fB--`+f.Name+`\fP`) })
	sections := 0
	for _, l := range strings.Split(root.Long, "\n") {
		if l != "" && l == strings.ToUpper(l) && !strings.HasPrefix(l, " ") {
			want = append(want, "\n.SH "+l+"\n")
			sections++
		}
	}
	want = append(want, "multiget completion bash|zsh|fish|powershell", "--no-descriptions", "MULTIGET_CONFIG", `.TH "MULTIGET" "1" "Jan 1970" "multiget v0.0.0-test"`,
		`\fB--version\fP`, `\fB--help\fP`, "\n.SH OPTIONS\n", "\n.SH EXAMPLES\n", `\fB--parallel\fP \fIN\fP`, `\fB--input\fP \fIFILE\fP`)
	for _, g := range cmd.FlagGroups() {
		want = append(want, "\n.SS "+g.Title+"\n")
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
	// cobra's generator wrote defaults in Go's syntax; this page never does.
	for _, bad := range []string{"=[]", "[=", "=false", "`"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	if sections < 9 {
		t.Errorf("only %d sections in --help's text", sections)
	}
}
