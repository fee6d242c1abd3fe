package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	curl "github.com/andelf/go-curl"

	"github.com/multiget/multiget/internal/engine"
	"github.com/multiget/multiget/internal/list"
	"github.com/multiget/multiget/internal/naming"
	"github.com/multiget/multiget/internal/report"
	"github.com/multiget/multiget/internal/sums"
)

// versionText is what --version prints: enough for a bug report to say
// which libcurl, TLS library, protocols and features were at work.
func versionText() string {
	lib := engine.Lib()
	var b strings.Builder
	fmt.Fprintf(&b, "multiget %s\n", version())
	fmt.Fprintf(&b, "%s\n", curl.Version())
	fmt.Fprintf(&b, "libcurl: %s\n", lib.Version)
	tls := lib.SSL
	if tls == "" {
		tls = "none"
	}
	fmt.Fprintf(&b, "TLS: %s\n", tls)
	fmt.Fprintf(&b, "Protocols: %s\n", strings.Join(lib.Protocols, " "))
	fmt.Fprintf(&b, "Features: %s\n", strings.Join(lib.Features, " "))
	return b.String()
}

// source is one list to read: an opened file, stdin, or the URL arguments.
type source struct {
	name string
	r    io.Reader
	c    io.Closer
}

// openInputs opens every list before anything is downloaded, so an
// unreadable list stops the run at once with exit 2.
func openInputs(o *Options, stdin io.Reader) ([]source, error) {
	var srcs []source
	for _, name := range o.Inputs {
		if name == "-" {
			srcs = append(srcs, source{name: "-", r: stdin})
			continue
		}
		f, err := os.Open(name)
		if err == nil {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				err = errors.New("is a directory")
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			for _, s := range srcs {
				if s.c != nil {
					s.c.Close()
				}
			}
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, &InputError{Err: fmt.Errorf("cannot read list %s: %v", name, err)}
		}
		srcs = append(srcs, source{name: name, r: f, c: f})
	}
	return srcs, nil
}

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
	defer func() {
		for _, s := range srcs {
			if s.c != nil {
				s.c.Close()
			}
		}
	}()
	if err := mkdirUnlessDry(o); err != nil {
		return &InputError{Err: fmt.Errorf("cannot create --dir %s: %v", o.Dir, unwrapPath(err))}
	}

	mode := progressMode(o, ios)
	rep := report.New(report.Options{
		Out:   ios.Out,
		Err:   ios.ErrOut,
		Mode:  mode,
		JSON:  o.JSON,
		Quiet: o.Quiet,
		Color: ios.Color(),
		Width: ios.TermWidth,
		// GitHub Actions sets GITHUB_ACTIONS=true in every step.
		GitHub: ios.Getenv != nil && ios.Getenv("GITHUB_ACTIONS") == "true",
		// Whoever reads the results has gone (| head -1 has seen enough):
		// stop as an interrupt does, rather than download for no one.
		Broken: func(we *report.WriteError) {
			cancel(&engine.StopCause{Reason: "results cannot be written to " + we.Stream})
		},
	})

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
	countAhead := countable && (mode == report.ModeBar || mode == report.ModePlain && !o.Quiet)
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
		produced, complete, readErr = produce(in, o, targets, srcs, entries)
		if readErr == nil && complete && !countAhead {
			total.Store(int64(produced))
			rep.SetTotal(produced)
		}
	}()

	cfg := engine.Config{
		Parallel:       o.Parallel,
		PerHost:        o.PerHost,
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
	if n, limit := engine.ParallelCap(cfg.Parallel, cfg.Split); n < cfg.Parallel {
		fmt.Fprintf(ios.ErrOut, "multiget: warning: -j %d lowered to %d: the descriptor limit (ulimit -n) is %d\n",
			cfg.Parallel, n, limit)
		cfg.Parallel = n
	}
	var stats engine.Stats
	var runErr error
	if o.DryRun {
		stats = plan(ctx, entries, rep)
	} else {
		// Results are written off the transfer loop: a slow reader of
		// stdout or stderr must not stall the downloads.
		q := report.NewQueue(rep)
		stats, runErr = engine.Run(ctx, cfg, entries, q)
		q.Close()
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
				stats.Failed++
			}
			rep.Result(r)
		}
	} else {
		<-readDone
	}
	sum := report.Summary{
		OK: stats.OK, Failed: stats.Failed, Skipped: stats.Skipped, Invalid: stats.Invalid,
		Bytes: stats.Bytes, Elapsed: time.Since(start),
		Interrupted: interrupted, FailFast: stats.FailFast, Stopped: stopped,
		NotStarted: -1,
		DryRun:     o.DryRun,
	}
	if stats.Interrupted || stats.FailFast {
		if countable && !countAhead && total.Load() == 0 {
			count() // the lists were neither counted ahead nor read to the end
		}
		if t := int(total.Load()); t > 0 {
			sum.NotStarted = max(t-stats.Done(), 0)
		}
	}
	rep.Finish(sum)
	switch {
	case runErr != nil:
		return runErr
	case interrupted:
		return &exitError{code: ExitInterrupted}
	case stopped != "":
		return rep.WriteErr()
	case readErr != nil:
		fmt.Fprintf(ios.ErrOut, "multiget: error: %v\n", readErr)
		return &exitError{code: ExitUsage}
	case stats.Failed > 0 || stats.Invalid > 0:
		return &exitError{code: ExitFailed}
	case rep.WriteErr() != nil:
		// Results that could not be written (a full disk under
		// results.jsonl, a closed pipe) make the run a failure: a CI job
		// must not take a missing result file for success.
		return rep.WriteErr()
	}
	return nil
}

func progressMode(o *Options, ios *IOStreams) report.Mode {
	p := o.Progress
	if p == "auto" {
		p = "none"
		if ios.StderrTTY && !o.Quiet {
			p = "bar"
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

// batchSize bounds how many entries travel to the engine in one channel
// operation. The first batch holds only as many as run at once (-j), so
// that the first transfers start as soon as those are read and named:
// 2,000 files of 8 KiB reached their first connect() about 2 ms sooner
// (10.9 against 12.9 ms after exec, medians of 21 runs; curl -Z, 6-7 ms).
const batchSize = 128

// produce turns the URL arguments and every list into entries, in order:
// each is validated, named, and checked against the targets claimed before
// it. Entries go out in batches, flushed when full or when reading on might
// block (a slow pipe on stdin must not hold back the entries already read).
// It stops when the run closes in, handing it the entries it holds. It
// returns how many entries it sent, whether it read every list to its end,
// and the first read error.
func produce(in *intake, o *Options, targets *naming.Targets, srcs []source, out chan<- []engine.Entry) (int, bool, error) {
	n := 0
	size := min(max(o.Parallel, 1), batchSize)
	batch := make([]engine.Entry, 0, size)
	flush := func() bool {
		if len(batch) == 0 {
			return !in.closed()
		}
		if in.closed() {
			in.leave(batch)
			return false
		}
		select {
		case out <- batch:
			n += len(batch)
			size = batchSize
			batch = make([]engine.Entry, 0, size)
			return true
		case <-in.stop:
			in.leave(batch)
			return false
		}
	}
	add := func(e engine.Entry, more bool) bool {
		batch = append(batch, e)
		if len(batch) >= size || !more {
			return flush()
		}
		return true
	}
	for i, u := range o.URLs {
		it := list.Item{Source: "arg:" + strconv.Itoa(i+1), Line: i + 1, URL: u}
		if e, mine := resolve(o, targets, it); mine && !add(e, true) {
			return n, false, nil
		}
	}
	for _, s := range srcs {
		p := list.NewParser(s.name, s.r)
		for {
			buffered := p.Buffered()
			if !buffered && (!flush() || !in.park()) {
				return n, false, nil
			}
			it, err := p.Next()
			if !buffered && !in.unpark() {
				// Read after the run stopped: not an entry of this run.
				return n, false, nil
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				flush()
				return n, false, fmt.Errorf("cannot read list %s: %v", s.name, unwrapPath(err))
			}
			if e, mine := resolve(o, targets, it); mine && !add(e, true) {
				return n, false, nil
			}
		}
	}
	return n, flush(), nil
}

// resolve makes an engine entry of a list item: checks its URL against
// --proto, derives its output path, and refuses a path claimed earlier.
// mine is false for an entry of another --shard, which gets no result here.
func resolve(o *Options, targets *naming.Targets, it list.Item) (e engine.Entry, mine bool) {
	e = engine.Entry{Source: it.Source, URL: it.URL}
	invalid := func(err error) (engine.Entry, bool) {
		e.Invalid = err
		return e, inShard(invalidKey(it), o.shardK, o.shardN)
	}
	if it.Err != nil {
		return invalid(it.Err)
	}
	u, err := naming.ParseURL(it.URL, o.protocols)
	if err != nil {
		return invalid(err)
	}
	if req := naming.Request(it.URL, u); req != it.URL {
		e.URL, e.Written = req, it.URL
	}
	var rel string
	if out, ok := it.Options["out"]; ok {
		if rel, err = naming.CleanOut(out); err != nil {
			return invalid(err)
		}
	} else {
		rel = naming.FromURL(u, o.Tree)
		e.NamedByURL = true
	}
	if !inShard(targetKey(rel), o.shardK, o.shardN) {
		return e, false
	}
	if e.Checksums, err = checksums(o, it, rel); err != nil {
		e.Invalid = err
		return e, true
	}
	path := filepath.Join(o.Dir, rel)
	if err := targets.ClaimTarget(path, it.Source); err != nil {
		e.Invalid = fmt.Errorf("%v: give one of them out=OTHER/NAME", err)
		return e, true
	}
	e.Path = path
	return e, true
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checksums collects the digests an entry must match: those given in its
// list line, and those a --checksum-file lists for its output name (the
// list line wins for the same algorithm).
func checksums(o *Options, it list.Item, rel string) ([]engine.Checksum, error) {
	var out []engine.Checksum
	have := map[string]bool{}
	for _, algo := range []string{"sha256", "sha512", "sha1", "md5"} {
		v, ok := it.Options[algo]
		if !ok {
			continue
		}
		hex, err := sums.Check(algo, v)
		if err != nil {
			return nil, err
		}
		out = append(out, engine.Checksum{Algo: algo, Hex: hex})
		have[algo] = true
	}
	for _, s := range o.sums.Lookup(filepath.ToSlash(rel)) {
		if !have[s.Algo] {
			out = append(out, engine.Checksum{Algo: s.Algo, Hex: s.Hex})
		}
	}
	return out, nil
}

// countEntries counts the entries of the URL arguments and every list, or
// reports false when a list cannot be read.
func countEntries(o *Options, srcs []source) (int, bool) {
	n := len(o.URLs)
	for _, s := range srcs {
		f, err := os.Open(s.name)
		if err != nil {
			return 0, false
		}
		c, err := list.Count(f)
		f.Close()
		if err != nil {
			return 0, false
		}
		n += c
	}
	return n, true
}
