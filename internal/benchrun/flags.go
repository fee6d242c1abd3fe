package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// config is the command line: the user's flags (passed through by
// scripts/bench) and the set-up the script adds (work dir, server URLs).
type config struct {
	// user flags
	quick     bool
	runs      int
	timeout   time.Duration
	workloads map[int]bool
	tools     map[string]bool // nil: every tool
	out       string
	link      bool // --link: the link group instead of the loopback one
	variants  []variant

	// set by scripts/bench
	work, www, httpBase, httpsBase, cacert, multiget, storage string
	// set by scripts/bench for the link group: toxiproxy's API, the
	// proxies in front of nginx's HTTP and HTTPS ports, toxiproxy's version
	toxiAPI, linkHTTP, linkHTTPS, linkHTTPSFew, toxiVersion string

	// helper modes
	validate bool
	ports    int
	usesLink bool
}

const usageText = `Usage: scripts/bench [flags]

Benchmarks multiget against curl, wget2, aria2c and axel on a private nginx
on 127.0.0.1, directly (loopback) or through toxiproxy (real links).

Real links (--link; full size, --quick shrinks them): toxiproxy in front of
the same nginx adds the round trip (half each way) and, on 15, a bandwidth
cap per connection:
  11  500 files of 8 KiB over HTTP/1.1, 50 ms RTT, each tool at its defaults
  12  the same over HTTPS with HTTP/2
  13  as 11 with every tool given 16 at once (multiget -j 16, curl
      --parallel-max 16, wget2 --max-threads=16, aria2c -j16)
  14  as 12 with 16 at once
  15  one 256 MiB file at 5,000 KB/s per connection, 50 ms RTT, split 16
      ways (multiget --split 16, aria2c -x16 -s16 -k1M, axel -n 16)
  16  as 11 at 150 ms RTT
  17  as 12 at 150 ms RTT
  18  as 12 over TLS 1.3, to a server allowing 20 streams per connection
  19  500 files from 12's server and 500 from 18's, alternating in one list
Loopback (the default group; full size, --quick shrinks them):
  1  2000 files of 8 KiB over HTTP/1.1, 16 at once
  2  the same over HTTPS with HTTP/2
  3  20,000 files of 1 byte, 16 at once
  4  4 files of 256 MiB, 4 at once
  5  one 256 MiB file from a location throttled to 20 MB/s per connection
     (multiget --split 16 when supported, aria2c -x16 -s16, axel -n 16,
     wget2 --chunk-size, curl plain)
  6  multiget only: peak RSS with a 200,000-line list on stdin vs a
     20,000-line one (target: < 64 MiB and at most 10% above)
Each tool: one warm-up, then --runs timed runs, tools interleaved in a
balanced order (each tool right after each other one equally often); a run
counts only when its files match the corpus byte for byte. By default the
shorter workloads get more runs (see --runs): a run of a tenth of a second
varies by 15-20% on a shared machine, and the median of 5 such runs by
nearly as much.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.VisitAll(func(f *flag.Flag) {
			if internalFlags[f.Name] {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  --%s %s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	var wl, tl string
	fs.BoolVar(&c.quick, "quick", false, "smaller sizes and 2 timed runs: a smoke run in a few minutes")
	fs.IntVar(&c.runs, "runs", 0, "timed runs per tool and workload (default "+defaultRunsText()+"; "+linkRunsText()+"; 2 with --quick)")
	fs.DurationVar(&c.timeout, "timeout", 120*time.Second, "kill a tool run after this long and report it as TIMEOUT")
	fs.StringVar(&wl, "workloads", "1,2,3,4,5,6", "comma-separated workload numbers (or ranges, 11-19) to run")
	fs.BoolVar(&c.link, "link", false, "run the real-link group (workloads 11-19) instead of the loopback one; with --workloads, only link workloads")
	fs.StringVar(&tl, "tools", "", "comma-separated tools to run (multiget,curl,wget2,aria2c,axel; default all)")
	fs.StringVar(&c.out, "out", "", "also write the table as Markdown to `FILE`")
	fs.Func("variant", "also run multiget as `NAME:off=WORDS` (with MULTIGET_OFF=WORDS), NAME:env=KEY=VALUE or NAME:bin=PATH (another build), beside multiget on its workloads; repeatable", func(s string) error {
		v, err := parseVariant(s)
		if err == nil {
			c.variants = append(c.variants, v)
		}
		return err
	})

	fs.StringVar(&c.work, "work", "", "work dir (set by scripts/bench)")
	fs.StringVar(&c.www, "www", "", "nginx document root (set by scripts/bench)")
	fs.StringVar(&c.httpBase, "http", "", "plain HTTP base URL (set by scripts/bench)")
	fs.StringVar(&c.httpsBase, "https", "", "HTTPS base URL (set by scripts/bench)")
	fs.StringVar(&c.cacert, "cacert", "", "CA certificate for the HTTPS server (set by scripts/bench)")
	fs.StringVar(&c.multiget, "multiget", "", "multiget binary (set by scripts/bench)")
	fs.StringVar(&c.storage, "storage", "", "where the work dir lives, for the header (set by scripts/bench)")
	fs.StringVar(&c.toxiAPI, "toxiproxy", "", "toxiproxy's API URL (set by scripts/bench)")
	fs.StringVar(&c.linkHTTP, "link-http", "", "base URL of the proxy in front of the HTTP port (set by scripts/bench)")
	fs.StringVar(&c.linkHTTPS, "link-https", "", "base URL of the proxy in front of the HTTPS port (set by scripts/bench)")
	fs.StringVar(&c.linkHTTPSFew, "link-https-few", "", "base URL of the proxy in front of the HTTPS port allowing few streams (set by scripts/bench)")
	fs.StringVar(&c.toxiVersion, "toxiproxy-version", "", "toxiproxy's version, for the header (set by scripts/bench)")
	fs.BoolVar(&c.validate, "validate", false, "check the flags and exit")
	fs.BoolVar(&c.usesLink, "uses-link", false, "print yes if a link workload is selected (no otherwise) and exit")
	fs.IntVar(&c.ports, "ports", 0, "print `N` free TCP ports on 127.0.0.1 and exit")

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.runs < 0 {
		return c, errors.New("--runs must be at least 1")
	}
	if c.runs == 0 && c.quick {
		c.runs = 2
	}
	if c.timeout <= 0 {
		return c, errors.New("--timeout must be positive")
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "workloads" })
	if c.link && !explicit {
		wl = joinInts(linkIDs())
	}
	ids, err := parseWorkloads(wl)
	if err != nil {
		return c, err
	}
	c.workloads = map[int]bool{}
	for _, n := range ids {
		if c.link && !isLinkID(n) {
			return c, fmt.Errorf("--workloads: %d is not a link workload (%s) and --link is given", n, idRanges(linkIDs()))
		}
		c.workloads[n] = true
	}
	if len(c.workloads) == 0 {
		return c, errors.New("--workloads: none selected")
	}
	if tl != "" {
		c.tools = map[string]bool{}
		for _, f := range strings.Split(tl, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if !knownTool(f) {
				return c, fmt.Errorf("--tools: unknown tool %q (want %s)", f, strings.Join(toolNames, ","))
			}
			c.tools[f] = true
		}
	}
	return c, nil
}

var internalFlags = map[string]bool{
	"work": true, "www": true, "http": true, "https": true, "cacert": true,
	"multiget": true, "storage": true, "validate": true, "ports": true,
	"toxiproxy": true, "link-http": true, "link-https": true, "link-https-few": true, "toxiproxy-version": true,
	"uses-link": true,
}

// parseWorkloads reads --workloads: numbers and ranges (11-18), commas
// between them, each a known workload id; the ids in the order given,
// each once.
func parseWorkloads(s string) ([]int, error) {
	known := map[int]bool{}
	for _, id := range allIDs() {
		known[id] = true
	}
	var ids []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, errA := strconv.Atoi(strings.TrimSpace(lo))
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.Atoi(strings.TrimSpace(hi))
		}
		if errA != nil || errB != nil || b < a {
			return nil, fmt.Errorf("--workloads: %q is not a workload number or range (%s)", f, idRanges(allIDs()))
		}
		for n := a; n <= b; n++ {
			if !known[n] {
				if isRange && n != a && n != b {
					continue // ranges may span the gap between the groups
				}
				return nil, fmt.Errorf("--workloads: %q is not a workload number (%s)", f, idRanges(allIDs()))
			}
			if !seen[n] {
				seen[n] = true
				ids = append(ids, n)
			}
		}
	}
	return ids, nil
}

// idRanges writes sorted ids as ranges: "1-6, 11-18".
func idRanges(ids []int) string {
	s := append([]int{}, ids...)
	sort.Ints(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		} else {
			parts = append(parts, strconv.Itoa(s[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func joinInts(ids []int) string {
	parts := make([]string, len(ids))
	for i, n := range ids {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// selectsLink says whether any link workload is selected.
func (c *config) selectsLink() bool {
	for id := range c.workloads {
		if isLinkID(id) {
			return true
		}
	}
	return false
}

func (c *config) checkRunFlags() error {
	var missing []string
	for name, v := range map[string]string{
		"work": c.work, "www": c.www, "http": c.httpBase, "https": c.httpsBase,
		"cacert": c.cacert, "multiget": c.multiget,
	} {
		if v == "" {
			missing = append(missing, "-"+name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing %s (run me through scripts/bench)", strings.Join(missing, " "))
	}
	if c.selectsLink() && (c.toxiAPI == "" || c.linkHTTP == "" || c.linkHTTPS == "" || c.needsFewServer() && c.linkHTTPSFew == "") {
		return errNoToxiproxy
	}
	return nil
}

func (c *config) wantTool(name string) bool {
	return c.tools == nil || c.tools[name]
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment
// ago (all listeners are held open until every port is chosen).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// needsFewServer says whether a selected workload fetches from the server
// allowing linkFewStreams (-link-https-few).
func (c *config) needsFewServer() bool {
	for id := range c.workloads {
		if s, ok := linkSpecFor(id); ok && s.fewServer() {
			return true
		}
	}
	return false
}
