package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/multiget/multiget/internal/engine"
	"github.com/multiget/multiget/internal/naming"
	"github.com/multiget/multiget/internal/report"
	"github.com/multiget/multiget/internal/store"
)

// mkdirUnlessDry creates --dir, except in a dry run, which touches nothing.
func mkdirUnlessDry(o *Options) error {
	if o.DryRun {
		return nil
	}
	return os.MkdirAll(o.Dir, 0o777)
}

func run(ctx context.Context, ios *IOStreams, o *Options) error {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tuning, err := tuningFromEnv(o.getenv)
	if err != nil {
		return err
	}
	srcs, err := openInputs(o, ios.In)
	if err != nil {
		return err
	}
	defer closeInputs(srcs)
	if err := mkdirUnlessDry(o); err != nil {
		return &InputError{Err: fmt.Errorf("cannot create --dir %s: %v", o.Dir, unwrapPath(err))}
	}

	failed, err := openFailedList(o)
	if err != nil {
		return err
	}

	mode := progressMode(o, ios)
	rep := report.New(report.Options{
		Out:  ios.Out,
		Err:  ios.ErrOut,
		Mode: mode,
		JSON: o.JSON,
		// The summary record is the last line of stdout.
		JSONSummary: o.JSONSummary,
		Quiet:       o.Quiet,
		Color:       ios.Color(),
		Width:       ios.TermWidth,
		// GitHub Actions sets GITHUB_ACTIONS=true in every step.
		GitHub:   ios.Getenv != nil && ios.Getenv("GITHUB_ACTIONS") == "true",
		SameDest: ios.SameDest,
		// Whoever reads the results has gone (| head -1 has seen enough):
		// stop as an interrupt does, rather than download for no one.
		Broken: func(we *report.WriteError) {
			cancel(&engine.StopCause{Reason: "results cannot be written to " + we.Stream})
		},
	})

	ios.setOnDeath(rep.Abandon)
	defer ios.setOnDeath(nil)
	defer ios.WatchWidth(rep.SetWidth)()

	// With no stdin among the lists, their entries can be counted ahead of
	// the download so the bar has a total from the start. A shard's share
	// is known only once its entries are resolved.
	var total atomic.Int64 // entries in all lists, once known; 0 before
	countable := o.shardN <= 1
	for _, s := range srcs {
		countable = countable && s.name != "-"
	}
	count := func() {
		if n, ok := countEntries(o, srcs); ok {
			total.Store(int64(n))
			rep.SetTotal(n)
		}
	}
	// Only the bar and plain progress lines show the total as they go;
	// otherwise the lists are read a second time only if the run stops
	// early, for the summary's count of entries not started.
	countAhead := countable && (mode == report.ModeBar || mode == report.ModePlain)
	if countAhead {
		go count()
	}

	targets := naming.NewTargets()
	entries := make(chan []engine.Entry, 4)
	in := newIntake()
	var readErr error
	var produced int
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer in.finish()
		defer close(entries)
		var complete bool
		produced, complete, readErr = produce(in, o, targets, srcs, failed, entries)
		if readErr == nil && complete && !countAhead {
			total.Store(int64(produced))
			rep.SetTotal(produced)
		}
	}()

	cfg := engine.Config{
		Parallel:       o.Parallel,
		PerHost:        o.PerHost,
		Streams:        o.Streams,
		NoClobber:      o.NoClobber,
		FailFast:       o.FailFast,
		ConnectTimeout: o.ConnectTimeout,
		MaxTime:        o.MaxTime,
		Headers:        o.headers,
		UserAgent:      o.UserAgent,
		Insecure:       o.Insecure,
		CACert:         o.CACert,
		Proxy:          o.Proxy,
		Protocols:      o.protocols,
		MaxRedirs:      o.MaxRedirs,
		StallTimeout:   o.StallTimeout,

		Retry:              o.Retry,
		RetryDelay:         o.RetryDelay,
		RetryMaxDelay:      o.RetryMaxDelay,
		Continue:           o.Continue,
		Update:             o.Update,
		RemoteTime:         o.RemoteTime || (o.Update && !o.remoteTimeSet),
		Dir:                o.Dir,
		ContentDisposition: o.ContentDisposition,
		Claim:              targets.ClaimTarget,
		Split:              o.Split,
		MinSplitSize:       o.minSplitSize,

		Netrc:      o.Netrc,
		NetrcFile:  o.NetrcFile,
		NoProxy:    o.NoProxy,
		Compressed: o.Compressed,
		LimitRate:  o.limitRate,
		TotalRate:  o.totalRate,

		Tuning: tuning,
	}
	if o.Update {
		cfg.State = store.Open(o.Dir)
	}
	n, limit := engine.ParallelCap(cfg.Parallel, cfg.Split)
	cfg.InFlight = engine.InFlightCap(limit)
	if n < cfg.Parallel {
		fmt.Fprintf(ios.ErrOut, "multiget: warning: -j %d lowered to %d, and at most %d transfers at once, HTTP/2 streams included: the descriptor limit (ulimit -n) is %d\n",
			cfg.Parallel, n, cfg.InFlight, limit)
		cfg.Parallel = n
	}
	o.curlConfig(&cfg)
	var stats engine.Stats
	var runErr error
	if o.DryRun {
		stats = plan(ctx, entries, rep)
	} else {
		// Results are written off the transfer loop, --failed-list's
		// included: a slow reader of stdout or stderr, or a slow disk
		// under the list, must not stall the downloads.
		q := report.NewQueue(failed.wrap(rep))
		if o.Verbose {
			cfg.OnAttempt = q.Attempt
		}
		stats, runErr = engine.Run(ctx, cfg, entries, q)
		q.Close()
	}
	if stats.StoreError != "" {
		// Every file is whole all the same; only the next -N run asks about
		// some of them by their time instead of their ETag.
		fmt.Fprintf(ios.ErrOut, "multiget: warning: -N could not record what it fetched: %s (the next -N run asks about those files by their time)\n", stats.StoreError)
	}
	var stopped string // why the run stopped, other than a signal or --fail-fast
	var sc *engine.StopCause
	if errors.As(context.Cause(ctx), &sc) {
		stopped = sc.Reason
	}
	interrupted := stats.Interrupted && stopped == ""
	if stats.Interrupted || stats.FailFast || stats.StopReason != "" {
		// The engine stopped early. Every entry read but not taken by it
		// gets its result too; the reader, which may be waiting on stdin,
		// is not waited for beyond that.
		reason := stats.StopReason
		if reason == "" {
			reason = "interrupted" // a dry run's
		}
		for _, en := range in.close(entries) {
			r := engine.NotStarted(en, reason)
			if r.Status == engine.StatusInvalid {
				stats.Invalid++
			} else {
				stats.Unfinished++
			}
			failed.result(r)
			rep.Result(r)
		}
	} else {
		<-readDone
	}
	if failed != nil && !o.hasStdin() {
		// The reader leaves the entries it did not read to the list.
		<-readDone
	}
	sum := report.Summary{
		OK: stats.OK, Failed: stats.Failed, Skipped: stats.Skipped, Invalid: stats.Invalid,
		Unchanged: stats.Unchanged, Unfinished: stats.Unfinished,
		Bytes: stats.Bytes, Elapsed: time.Since(start),
		Interrupted: interrupted, FailFast: stats.FailFast, Stopped: stopped,
		NotStarted: -1,
		DryRun:     o.DryRun,
		Hosts:      stats.Hosts,
	}
	if stats.Interrupted || stats.FailFast {
		if countable && !countAhead && total.Load() == 0 {
			count() // the lists were neither counted ahead nor read to the end
		}
		if t := int(total.Load()); t > 0 {
			sum.NotStarted = max(t-stats.Done(), 0)
		}
	}
	// The failed list is written first: a failure to write it is part of
	// the outcome. The outcome is decided before the summary, which states
	// its exit code.
	if err := failed.close(); err != nil {
		fmt.Fprintf(ios.ErrOut, "multiget: error: %v\n", err)
		if runErr == nil && !interrupted && stopped == "" {
			runErr = &exitError{code: ExitFailed}
		}
	}
	var end error
	switch {
	case runErr != nil:
		end = runErr
	case interrupted:
		end = &exitError{code: ExitInterrupted}
	case stopped != "":
		end = rep.WriteErr()
	case readErr != nil:
		end = &exitError{code: ExitUsage}
	case stats.Failed > 0 || stats.Invalid > 0:
		end = &exitError{code: ExitFailed}
	default:
		// Results that could not be written (a full disk under
		// results.jsonl, a closed pipe) make the run a failure: a CI job
		// must not take a missing result file for success.
		end = rep.WriteErr()
	}
	sum.ExitCode = codeOf(end)
	rep.Finish(sum)
	if readErr != nil && sum.ExitCode == ExitUsage {
		fmt.Fprintf(ios.ErrOut, "multiget: error: %v\n", readErr)
	}
	if end == nil {
		end = rep.WriteErr() // the summary itself could not be written
	}
	return end
}

// progressMode: -q changes only the default (auto), so an explicit
// --progress bar or plain still draws with -q.
func progressMode(o *Options, ios *IOStreams) report.Mode {
	p := o.Progress
	if p == "auto" {
		p = "none"
		if ios.StderrTTY && !o.Quiet {
			p = "bar"
			// A dumb terminal (an editor's shell buffer) cannot move the
			// cursor back over the bar's lines: it gets progress lines.
			if ios.Getenv != nil && ios.Getenv("TERM") == "dumb" {
				p = "plain"
			}
		}
	}
	switch p {
	case "bar":
		return report.ModeBar
	case "plain":
		return report.ModePlain
	}
	return report.ModeNone
}
