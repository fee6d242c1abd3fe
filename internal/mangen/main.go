// Command mangen writes multiget's man page, multiget.1, from the same
// cobra command (flags, their groups, help text, examples) the binary
// runs, so the page cannot drift from --help. scripts/manpage runs it.
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

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
	// With SOURCE_DATE_EPOCH the page has a fixed date (and it carries no
	// generation stamp), so packagers get reproducible output.
	date := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %v", s, err)
		}
		date = time.Unix(sec, 0).UTC()
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
	if _, err := w.Write(md2man.Render([]byte(page(root, date)))); err != nil {
		return err
	}
	return w.Sync()
}

// page is the man page in the markdown go-md2man reads. One page covers
// the whole tool, the completion command included. Its flag list is
// written here rather than by cobra's generator, which shows defaults in
// Go's syntax (--input=[], --tree[=false]) and knows nothing of --help's
// groups.
func page(root *cobra.Command, date time.Time) string {
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	var b strings.Builder
	fmt.Fprintf(&b, "%% %q %q %q %q %q\n", "MULTIGET", "1", date.Format("Jan 2006"), "multiget "+root.Version, "User Commands")
	fmt.Fprintf(&b, "# NAME\nmultiget \\- %s\n\n", root.Short)
	b.WriteString("# SYNOPSIS\n" +
		"**multiget** [*flags*] [*URL*...]  \n" +
		"**multiget** [*flags*] **-i** *FILE* [*URL*...]  \n" +
		"**multiget completion** **bash**|**zsh**|**fish**|**powershell** [**--no-descriptions**]  \n" +
		"**multiget** **--version**\n\n")
	b.WriteString("# DESCRIPTION\nmultiget downloads every URL argument and every entry of the **-i** lists " +
		"in parallel, through one libcurl multi handle, and reports one result per entry.\n\n" +
		"A *DUR* is seconds (2.5) or a duration with its unit (500ms, 2m, 1h); a *SIZE* or *RATE* takes " +
		"K, M or G (1024 multiples).\n\n")
	b.WriteString("# OPTIONS\n")
	for _, g := range cmd.FlagGroups() {
		fmt.Fprintf(&b, "### %s\n", g.Title)
		for _, name := range g.Flags {
			if f := root.Flags().Lookup(name); f != nil {
				b.WriteString(flagEntry(f))
			}
		}
	}
	b.WriteString(manLong(root.Long))
	fmt.Fprintf(&b, "\n# EXAMPLES\n```\n%s\n```\n", root.Example)
	return b.String()
}

// flagEntry is one flag as a definition: its names and placeholder, then
// its usage and default as --help shows them.
func flagEntry(f *pflag.Flag) string {
	ph, _ := pflag.UnquoteUsage(f)
	head := "**--" + f.Name + "**"
	if f.Shorthand != "" {
		head = "**-" + f.Shorthand + "**, " + head
	}
	if f.Value.Type() != "bool" {
		head += " *" + ph + "*"
	}
	return head + "\n: " + md(cmd.FlagUsage(f)) + "\n\n"
}

// md escapes the characters markdown would read as formatting.
func md(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "<", `\<`).Replace(s)
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
