// Command benchrun is the driver behind scripts/bench. The script sets up a
// private nginx, a work dir (a tmpfs when it can) and a self-signed
// certificate; benchrun then writes the corpus that nginx serves, runs
// multiget and its peers on every workload (one warm-up, then N timed runs,
// the tools interleaved run by run), checks every run's files byte for byte
// against the corpus, and prints the result table as Markdown.
//
// It also has helper modes for the script: -validate (check the flags and
// exit; exit status 10 after -h), -ports N (print N free TCP ports on
// 127.0.0.1) and -uses-link (print yes when a link workload is selected, so
// the script starts toxiproxy, else no).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		if cfg != nil && cfg.validate {
			return 10
		}
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", err)
		return 2
	}
	if cfg.validate {
		return 0
	}
	if cfg.usesLink {
		if cfg.selectsLink() {
			fmt.Fprintln(stdout, "yes")
		} else {
			fmt.Fprintln(stdout, "no")
		}
		return 0
	}
	if cfg.ports > 0 {
		ports, err := freePorts(cfg.ports)
		if err != nil {
			fmt.Fprintf(stderr, "benchrun: %v\n", err)
			return 1
		}
		for i, p := range ports {
			if i > 0 {
				fmt.Fprint(stdout, " ")
			}
			fmt.Fprint(stdout, p)
		}
		fmt.Fprintln(stdout)
		return 0
	}
	if err := cfg.checkRunFlags(); err != nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", err)
		return 2
	}
	stopOnSignal()
	b := &bench{cfg: cfg, log: stderr}
	if err := b.main(stdout); err != nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", err)
		return 1
	}
	return 0
}

// runningGroup is the process group of the tool run in progress (0: none),
// killed when benchrun itself is interrupted so no tool outlives it.
var runningGroup atomic.Int64

func stopOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-ch
		if pg := runningGroup.Load(); pg > 0 {
			_ = syscall.Kill(-int(pg), syscall.SIGKILL)
		}
		fmt.Fprintf(os.Stderr, "benchrun: %v, stopping\n", sig)
		if sig == syscall.SIGTERM {
			os.Exit(143)
		}
		os.Exit(130)
	}()
}
