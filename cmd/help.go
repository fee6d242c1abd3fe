package cmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// What --help prints, in this order: the one-line summary, usage, the
// flags by group, the long sections (also the man page's description,
// internal/mangen) and the examples.

const usageLines = `Usage:
  multiget [flags] [URL...]
  multiget [flags] -i FILE [URL...]   (-i - reads the list from stdin)
  multiget completion bash|zsh|fish|powershell
DUR is seconds (2.5) or 500ms, 2m, 1h; SIZE and RATE take K, M, G (1024).`

// FlagGroup is one heading of --help's and the man page's flag list.
type FlagGroup struct {
	Title string
	Flags []string // long names, in the order shown
}

// flagGroups places every flag under one heading; a test fails on a flag
// that is in no group, or in two.
var flagGroups = []FlagGroup{
	{"Input", []string{"input", "metalink", "proto", "checksum-file"}},
	{"Output files", []string{"dir", "output-dir", "output", "tree", "no-clobber", "content-disposition", "remote-time"}},
	{"Connections and speed", []string{"parallel", "per-host", "streams", "split", "min-split-size", "limit-rate", "total-rate"}},
	{"Network", []string{"connect-timeout", "max-time", "header", "user-agent", "user", "cookie", "cookie-jar", "insecure", "cacert",
		"proxy", "noproxy", "netrc", "netrc-file", "compressed", "location", "max-redirs", "ipv4", "ipv6", "resolve", "connect-to"}},
	{"Retries and resume", []string{"retry", "retry-all-errors", "retry-delay", "retry-max-delay", "stall-timeout", "continue", "continue-at", "update", "fail-fast"}},
	{"Output format and progress", []string{"progress", "quiet", "silent", "verbose", "json", "json-summary"}},
	{"CI and sharding", []string{"dry-run", "failed-list", "shard", "shard-from-env"}},
	{"Config and help", []string{"config", "no-config", "help", "version"}},
}

// helpWidth is the width --help's flag list is wrapped to; maxLeft the
// longest flag-and-placeholder that shares its line with the usage.
const (
	helpWidth = 80
	maxLeft   = 28
)

// setHelp makes c print multiget's help; its subcommands keep cobra's.
func setHelp(c *cobra.Command) {
	subHelp := c.HelpFunc()
	c.SetHelpFunc(func(cc *cobra.Command, args []string) {
		if cc != c {
			subHelp(cc, args)
			return
		}
		w := cc.OutOrStdout()
		fmt.Fprintf(w, "multiget: %s.\n\n%s\n\n", strings.ToLower(c.Short[:1])+c.Short[1:], usageLines)
		writeFlagGroups(w, c.Flags())
		fmt.Fprintf(w, "\n%s\n\nExamples:\n%s\n", c.Long, c.Example)
	})
}

// writeFlagGroups prints each group's flags in pflag's layout (flag and
// placeholder, then the usage, aligned in one column for all groups),
// wrapped to helpWidth.
func writeFlagGroups(w io.Writer, fs *pflag.FlagSet) {
	// The usage column starts after the longest flag of the common
	// length; a longer one (--connect-to's placeholder) gets a line of its
	// own, so that every usage keeps a readable width.
	col := 0
	for _, g := range flagGroups {
		for _, name := range g.Flags {
			if f := fs.Lookup(name); f != nil && len(flagLeft(f)) <= maxLeft {
				col = max(col, len(flagLeft(f)))
			}
		}
	}
	col += 3
	for i, g := range flagGroups {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s:\n", g.Title)
		for _, name := range g.Flags {
			f := fs.Lookup(name)
			if f == nil {
				continue
			}
			left := flagLeft(f)
			lines := wrap(flagUsage(f), helpWidth-col)
			if len(left) > col-2 {
				fmt.Fprintln(w, left)
				for _, l := range lines {
					fmt.Fprintf(w, "%*s%s\n", col, "", l)
				}
				continue
			}
			fmt.Fprintf(w, "%-*s%s\n", col, left, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, "%*s%s\n", col, "", l)
			}
		}
	}
}

// flagLeft is "  -j, --parallel N" or "      --tree".
func flagLeft(f *pflag.Flag) string {
	s := "      --" + f.Name
	if f.Shorthand != "" {
		s = "  -" + f.Shorthand + ", --" + f.Name
	}
	if p := placeholder(f); p != "" && f.Value.Type() != "bool" {
		s += " " + p
	}
	return s
}

// FlagGroups is the table of flag groups, for the man page.
func FlagGroups() []FlagGroup { return flagGroups }

// FlagUsage is a flag's usage as --help shows it, for the man page.
func FlagUsage(f *pflag.Flag) string { return flagUsage(f) }

// flagUsage is f's usage without the placeholder's backquotes, and its
// default unless that is the zero value.
func flagUsage(f *pflag.Flag) string {
	_, u := pflag.UnquoteUsage(f)
	switch f.DefValue {
	case "", "0", "false", "[]":
		return u
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%s (default %q)", u, f.DefValue)
	}
	return fmt.Sprintf("%s (default %s)", u, f.DefValue)
}

// wrap breaks s into lines of at most width bytes at spaces (a longer word
// gets a line of its own).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

const longHelp = `LIST FORMAT
  One entry per line: a URL, then key=value options, also on indented
  lines under it. Blank lines and # lines are ignored. A bad line is one
  invalid entry (FILE:LINE); the rest go on.
    https://example.com/a.iso out=images/a.iso
    https://example.com/b.iso
      sha256=HEX
  Options: out=REL/PATH (under --dir); sha256=HEX, sha512=, sha1=, md5=;
  size=BYTES; mirror=URL (repeatable), or more URLs on the line separated
  by TABs: other URLs of the same file, tried when one fails.

METALINK
  --metalink FILE (or -i FILE.meta4): each <file> one entry, its name
  checked as out= is, its <url>s by priority, its <hash>es as checksums.

FILES
  NAME is out=, else the URL's last path segment ("index.html" if empty),
  or HOST/PATH with --tree, never outside --dir. It appears only complete
  (written as NAME.part, then renamed).

OUTPUT
  stdout holds results only: a line per entry, starting with its status
  (ok, FAILED, skipped, unchanged, INVALID, INTERRUPTED), or with --json an
  object with source, url, effective_url, path, status (ok, failed,
  skipped, unchanged, invalid, interrupted; planned in a --dry-run),
  http_code, curl_code, error, bytes, duration_ms, attempts, checksums
  (and ranges for a split download, tried for one with mirrors); then a
  "record": "host" object per host that pushed back. --json-summary
  ends stdout with a "record": "summary" object: ok, failed, skipped,
  unchanged, invalid, interrupted, planned, not_started, bytes,
  duration_ms, exit_code, stopped. stderr: the bar on a terminal (entries,
  bytes, speed, time left), warnings, the summary, and a copy of each
  failure unless stderr is stdout's file (2>&1): each shown once per place
  it is read; under GitHub Actions the copy is an ::error annotation.

RETRIES, RESUME, INTEGRITY
  Network errors, timeouts, stalls, short bodies and HTTP 408, 429, 500,
  502, 503, 504 are retried --retry times, resuming with Range; a 429 or
  503 pauses its host. Interrupted transfers keep NAME.part for -c, which
  also skips a finished NAME the server still has at that size (one
  request, no body). -N asks whether an existing file changed (ETag, else
  its time): a 304 leaves it, status unchanged. Checksums are verified
  before NAME appears.

FAILED LIST
  --failed-list FILE: the entries not ended ok, skipped or unchanged, as a
  list for -i FILE to rerun; removed when none failed.

CONFIG FILE
  --config FILE, else $MULTIGET_CONFIG, else ~/.config/multiget/config
  ($XDG_CONFIG_HOME/multiget/config) if it exists; --no-config: none.
  "name = value" lines, long flag names; a bool flag alone means true; a #
  after a blank starts a comment ("..." keeps one). The command line wins.

SHARDING AND CI
  --shard K/N: N jobs split one list, each entry in exactly one shard.
  --dry-run checks the lists. GITHUB_ACTIONS=true: failures as ::error::.

NETWORK
  -u and -H credentials go to the entries' own hosts only; -b FILE keeps
  one cookie store for the run; -v: a line per attempt on stderr.

COMMANDS
  completion  Print a shell completion script on stdout:
                multiget completion bash|zsh|fish|powershell [--no-descriptions]

ENVIRONMENT
  MULTIGET_CONFIG       the config file when --config is not given
  XDG_CONFIG_HOME       where the default config is (multiget/config)
  HOME                  ~/.config/multiget/config and --netrc's ~/.netrc
  JOB_COMPLETION_INDEX  --shard-from-env: this process's shard, 0-based
  MULTIGET_SHARD_COUNT  --shard-from-env: the number of shards
  GITHUB_ACTIONS        "true": failures copied to stderr as ::error::
  NO_COLOR, TERM        no colour when NO_COLOR is set or TERM is dumb;
                        TERM=dumb: progress lines, not the bar
  MULTIGET_USER         USER[:PASS] for the entries' hosts when -u is not given
  http_proxy, https_proxy, HTTPS_PROXY, ALL_PROXY, all_proxy, NO_PROXY,
  no_proxy              read by libcurl when -x is not given
  MULTIGET_OFF          optimizations to switch off: all, or a list of
                        unnamed, handover, earlymux, streamprobe, ramp,
                        smallbuf, bigbuf

EXIT STATUS
  0    every entry downloaded, unchanged (-N) or skipped
  1    at least one entry failed or was invalid, or the results could not
       be written (a full disk, or a reader gone as in | head -1)
  2    usage error, or an input list that cannot be read
  130  interrupted by SIGINT or SIGTERM: after the summary multiget dies
       of that signal, so a shell loop stops ($? 130 or 143); a second
       signal ends it at once`

const examples = `  # fetch two files into ./dl
  multiget -d dl https://example.com/a.tgz https://example.com/b.tgz
  # a list, 16 connections at once, at most 4 per host, keep existing files
  multiget -i urls.txt -j 16 --per-host 4 --no-clobber -d mirror --tree
  # URLs from another program on stdin
  grep -o 'https://[^"]*\.pdf' page.html | multiget -i - -d pdfs
  # CI: JSON results, checksums, stop at the first failure
  multiget -i list.txt -d out --checksum-file SHA256SUMS --json --fail-fast
  # resume an interrupted batch: rerun the same command with -c
  multiget -c -i urls.txt -d mirror`
