package cmd

// The flags curl users type out of habit, where they fit a batch tool:
// the same letters with the same meaning, or a clear error where multiget
// works otherwise.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/multiget/multiget/internal/engine"
)

// envUser gives -u's USER[:PASS] when the flag is not given, so that a
// password need not appear in the process list or a shell history.
const envUser = "MULTIGET_USER"

// curlOptions are the Options fields of the flags in this file.
type curlOptions struct {
	Verbose        bool
	Output         string
	RetryAllErrors bool
	IPv4, IPv6     bool
	Resolve        []string
	ConnectTo      []string
	User           string
	Cookie         string
	CookieJar      string

	output string // -o's file name, in Dir
	user   string // -u, else $MULTIGET_USER
}

// addCurlFlags adds the curl-style flags after the others.
func addCurlFlags(c *cobra.Command, opts *Options) {
	f := c.Flags()
	// Defined here, cobra adds no -v of its own: -V is curl's letter, and
	// -v is verbose in curl and wget alike.
	f.BoolP("version", "V", false, "print multiget's and libcurl's versions and exit")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "on stderr, a line per transfer attempt: connection new or reused, address, HTTP version, status, redirects, and each retry with its reason and delay")
	f.StringVarP(&opts.Output, "output", "o", "", "save the single URL argument as `FILE` (for a list, give each entry out=NAME)")
	f.StringVar(&opts.Dir, "output-dir", ".", "save files under `DIR`: another name for --dir")
	f.BoolVarP(&opts.Quiet, "silent", "s", false, "another name for --quiet")
	f.VarP(continueAt{&opts.Continue}, "continue-at", "C", "`-`: another name for -c (no offsets: multiget resumes from where NAME.part ends)")
	var location bool
	f.BoolVarP(&location, "location", "L", false, "accepted for curl's sake: redirects are always followed (up to --max-redirs)")
	f.BoolVar(&opts.RetryAllErrors, "retry-all-errors", false, "retry every failed attempt within --retry, 4xx and other permanent errors included (not disk errors)")
	f.BoolVarP(&opts.IPv4, "ipv4", "4", false, "resolve host names to IPv4 addresses only")
	f.BoolVarP(&opts.IPv6, "ipv6", "6", false, "resolve host names to IPv6 addresses only")
	f.StringArrayVar(&opts.Resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT instead of resolving it (repeatable)")
	f.StringArrayVar(&opts.ConnectTo, "connect-to", nil, "`HOST1:PORT1:HOST2:PORT2`: requests to HOST1:PORT1 connect to HOST2:PORT2 instead (repeatable)")
	f.StringVarP(&opts.User, "user", "u", "", "send `USER[:PASS]` (Basic auth) to the hosts of the entries (default $"+envUser+")")
	f.StringVarP(&opts.Cookie, "cookie", "b", "", "send the cookies of `FILE|STRING`: \"name=value; ...\", or a file in Netscape or Set-Cookie format, whose cookies (and those servers set) every transfer of the run shares")
	f.StringVar(&opts.CookieJar, "cookie-jar", "", "write every cookie of the run to `FILE` (Netscape format) at the end (curl's -c; multiget's -c is --continue)")
	_ = c.RegisterFlagCompletionFunc("continue-at", cobra.FixedCompletions([]string{"-"}, cobra.ShellCompDirectiveNoFileComp))
	for _, name := range []string{"resolve", "connect-to", "user"} {
		_ = c.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
}

// flagAliases maps each flag that is another name for one (curl's) to
// that one, so that a config file line cannot override it.
var flagAliases = map[string]string{"output-dir": "dir", "silent": "quiet", "continue-at": "continue"}

// canonicalFlag is the flag name a config line or flag counts as.
func canonicalFlag(name string) string {
	if a, ok := flagAliases[name]; ok {
		return a
	}
	return name
}

// continueAt is -C: curl's resume offset, of which multiget takes only
// "-" (resume where the output ends), as it always resumes from the end
// of NAME.part.
type continueAt struct{ c *bool }

func (v continueAt) String() string { return "" }
func (v continueAt) Type() string   { return "-" }
func (v continueAt) Set(s string) error {
	if s != "-" {
		return fmt.Errorf("multiget resumes from where NAME.part ends: write -C - (or -c), not an offset")
	}
	*v.c = true
	return nil
}

// validateCurl checks the flags of this file.
func (o *Options) validateCurl() error {
	if o.IPv4 && o.IPv6 {
		return flagErrorf("give -4 or -6, not both")
	}
	for _, r := range o.Resolve {
		if err := checkResolve(r); err != nil {
			return flagErrorf("--resolve %q: %v", r, err)
		}
	}
	for _, r := range o.ConnectTo {
		if err := checkConnectTo(r); err != nil {
			return flagErrorf("--connect-to %q: %v", r, err)
		}
	}
	if err := o.validateOutput(); err != nil {
		return err
	}
	o.user = o.User
	if o.user == "" && o.getenv != nil {
		o.user = o.getenv(envUser)
	}
	if o.user != "" && strings.HasPrefix(o.user, ":") {
		return flagErrorf("--user: the user name is missing: write USER[:PASS]")
	}
	// -b FILE --cookie-jar FILE on a first run: the jar is not there yet.
	if o.Cookie != "" && !strings.Contains(o.Cookie, "=") && o.Cookie != o.CookieJar {
		if _, err := os.Stat(o.Cookie); err != nil {
			return flagErrorf("-b %s: %v (a cookie string is name=value)", o.Cookie, unwrapPath(err))
		}
	}
	if o.CookieJar != "" {
		if fi, err := os.Stat(filepath.Dir(o.CookieJar)); err != nil || !fi.IsDir() {
			return flagErrorf("--cookie-jar %s: its directory does not exist", o.CookieJar)
		}
	}
	return nil
}

// validateOutput checks -o: one URL argument and no list. A directory in
// FILE is joined to --dir (or replaces it when FILE is absolute), so the
// name itself is what out= would be.
func (o *Options) validateOutput() error {
	if o.Output == "" {
		return nil
	}
	if len(o.URLs) != 1 || len(o.Inputs) > 0 {
		return flagErrorf("-o names the file of a single URL argument (got %d URLs and %d lists): for several, list them in a file with out=NAME after each URL and give it with -i", len(o.URLs), len(o.Inputs))
	}
	if o.Output == "-" {
		return flagErrorf("-o -: multiget writes files, never to stdout (name a file, or use curl for a pipe)")
	}
	dir, name := filepath.Split(o.Output)
	if name == "" || name == "." || name == ".." {
		return flagErrorf("-o %s: name a file, not a directory (use -d DIR for that)", o.Output)
	}
	switch {
	case filepath.IsAbs(o.Output):
		o.Dir = filepath.Clean(dir)
	case dir != "":
		o.Dir = filepath.Join(o.Dir, dir)
	}
	o.output = name
	return nil
}

// checkResolve checks HOST:PORT:ADDR[,ADDR...] (curl's --resolve; a
// leading "+" as libcurl takes it, an IPv6 ADDR in brackets).
func checkResolve(s string) error {
	const form = "write it as HOST:PORT:ADDR (an IPv6 ADDR in brackets)"
	s = strings.TrimPrefix(s, "+")
	host, rest, ok := strings.Cut(s, ":")
	port, addrs, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || host == "" {
		return errors.New(form)
	}
	if err := checkPort(port); err != nil {
		return err
	}
	for _, a := range strings.Split(addrs, ",") {
		a = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
		if net.ParseIP(a) == nil {
			return fmt.Errorf("%q is not an IP address: %s", a, form)
		}
	}
	return nil
}

// checkConnectTo checks HOST1:PORT1:HOST2:PORT2, where any part but the
// colons may be empty (curl's --connect-to: empty means any, or the same).
func checkConnectTo(s string) error {
	parts, err := splitHostPorts(s)
	if err != nil || len(parts) != 4 {
		return errors.New("write it as HOST1:PORT1:HOST2:PORT2 (an IPv6 address in brackets; empty parts mean any or the same)")
	}
	for _, p := range []string{parts[1], parts[3]} {
		if p == "" {
			continue
		}
		if err := checkPort(p); err != nil {
			return err
		}
	}
	return nil
}

// splitHostPorts splits s at the colons outside brackets.
func splitHostPorts(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ':' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
		if depth < 0 || depth > 1 {
			return nil, errors.New("unbalanced brackets")
		}
	}
	return append(parts, s[start:]), nil
}

func checkPort(p string) error {
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return nil
}

// curlConfig hands the flags of this file to the engine.
func (o *Options) curlConfig(c *engine.Config) {
	c.RetryAllErrors = o.RetryAllErrors
	switch {
	case o.IPv4:
		c.IPResolve = 4
	case o.IPv6:
		c.IPResolve = 6
	}
	c.Resolve, c.ConnectTo, c.User = o.Resolve, o.ConnectTo, o.user
	// curl's rule: a value with "=" is cookies, anything else a file.
	if strings.Contains(o.Cookie, "=") {
		c.Cookie = o.Cookie
	} else {
		c.CookieFile = o.Cookie
	}
	c.CookieJar = o.CookieJar
}
