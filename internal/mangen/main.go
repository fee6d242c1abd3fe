// Command mangen writes multiget's man page, multiget.1, from the same
// cobra command (flags, help text, examples) the binary runs, so the page
// cannot drift from --help. scripts/manpage runs it.
//
//	go run ./internal/mangen [-version V] [-o FILE]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/multiget/multiget/cmd"
)

func main() {
	out := flag.String("o", "multiget.1", "write the page to `FILE` (- for stdout)")
	ver := flag.String("version", "", "version named in the page footer (default: the build's)")
	flag.Parse()
	if err := run(*out, *ver); err != nil {
		fmt.Fprintf(os.Stderr, "mangen: error: %v\n", err)
		os.Exit(1)
	}
}

func run(out, ver string) error {
	if ver != "" {
		cmd.Version = ver
	}
	root := cmd.NewRootCmd(&cmd.IOStreams{Out: io.Discard, ErrOut: io.Discard}, nil)
	// The page carries no generation stamp and, with SOURCE_DATE_EPOCH,
	// a fixed date, so packagers get reproducible output.
	root.DisableAutoGenTag = true
	date := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %v", s, err)
		}
		date = time.Unix(sec, 0).UTC()
	}
	// One page for the whole tool: the completion subcommand is described
	// in the root's help, so no SEE ALSO should point at a page that is
	// never installed.
	for _, c := range root.Commands() {
		c.Hidden = true
	}
	root.Long = manLong(root.Long)
	header := &doc.GenManHeader{
		Title:   "MULTIGET",
		Section: "1",
		Source:  "multiget " + root.Version,
		Manual:  "User Commands",
		Date:    &date,
	}
	w := os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := doc.GenMan(root, header, w); err != nil {
		return err
	}
	return w.Sync()
}

// manLong turns the --help text into the markdown the page is made from:
// its all-capital lines become sections and the indented text under them
// stays preformatted, laid out exactly as on the terminal (as markdown
// prose it would be reflowed into a jumble).
func manLong(long string) string {
	var b strings.Builder
	for _, l := range strings.Split(long, "\n") {
		switch {
		case l != "" && l == strings.ToUpper(l) && !strings.HasPrefix(l, " "):
			b.WriteString("\n# " + l + "\n\n")
		case strings.HasPrefix(l, " "):
			b.WriteString("    " + l + "\n")
		default:
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
