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

	// set by scripts/bench
	work, www, httpBase, httpsBase, cacert, multiget, storage string

	// helper modes
	validate bool
	ports    int
}

const usageText = `Usage: scripts/bench [flags]

Benchmarks multiget against curl, wget2, aria2c and axel on a private nginx
on 127.0.0.1. Workloads (full size; --quick shrinks them):
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
	fs.IntVar(&c.runs, "runs", 0, "timed runs per tool and workload (default "+defaultRunsText()+"; 2 with --quick)")
	fs.DurationVar(&c.timeout, "timeout", 120*time.Second, "kill a tool run after this long and report it as TIMEOUT")
	fs.StringVar(&wl, "workloads", "1,2,3,4,5,6", "comma-separated workload numbers to run")
	fs.StringVar(&tl, "tools", "", "comma-separated tools to run (multiget,curl,wget2,aria2c,axel; default all)")
	fs.StringVar(&c.out, "out", "", "also write the table as Markdown to `FILE`")

	fs.StringVar(&c.work, "work", "", "work dir (set by scripts/bench)")
	fs.StringVar(&c.www, "www", "", "nginx document root (set by scripts/bench)")
	fs.StringVar(&c.httpBase, "http", "", "plain HTTP base URL (set by scripts/bench)")
	fs.StringVar(&c.httpsBase, "https", "", "HTTPS base URL (set by scripts/bench)")
	fs.StringVar(&c.cacert, "cacert", "", "CA certificate for the HTTPS server (set by scripts/bench)")
	fs.StringVar(&c.multiget, "multiget", "", "multiget binary (set by scripts/bench)")
	fs.StringVar(&c.storage, "storage", "", "where the work dir lives, for the header (set by scripts/bench)")
	fs.BoolVar(&c.validate, "validate", false, "check the flags and exit")
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
	c.workloads = map[int]bool{}
	for _, f := range strings.Split(wl, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 6 {
			return c, fmt.Errorf("--workloads: %q is not a workload number (1-6)", f)
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
