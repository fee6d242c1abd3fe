// Package cmd is multiget's command line: flags become an Options struct,
// which is validated and handed to the run pipeline; Main maps the outcome
// to the one exit-code table.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes; the help text and the README list the same table.
const (
	ExitOK          = 0   // every entry ok or skipped
	ExitFailed      = 1   // an entry failed or was invalid, or results could not be written
	ExitUsage       = 2   // bad flags, or an input list that cannot be read
	ExitInterrupted = 130 // SIGINT or SIGTERM
)

// FlagError is a usage mistake: it is printed with a hint to --help and
// exits with ExitUsage.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

func flagErrorf(format string, a ...any) error {
	return &FlagError{Err: fmt.Errorf(format, a...)}
}

// InputError is an input list that cannot be opened or read.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// exitError carries an exit code decided by the run itself (1 or 130).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// NewRootCmd builds the command. runF, when non-nil, replaces the real run
// so tests can inspect the parsed options.
func NewRootCmd(io *IOStreams, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{getenv: io.Getenv}
	c := &cobra.Command{
		Use:           "multiget [flags] [URL...]",
		Short:         "Download many URLs in parallel, every file whole, every failure named",
		Long:          longHelp,
		Example:       examples,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every positional argument is a URL. Without this, cobra would
		// call any argument of a root that has subcommands an unknown
		// command; subcommand names are matched only exactly, and no URL
		// (it has "://") can be one.
		Args: cobra.ArbitraryArgs,
		// The completion command is ours (see completion.go).
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(c *cobra.Command, args []string) error {
			opts.URLs = args
			if opts.NoConfig && opts.Config != "" {
				return flagErrorf("give --config FILE or --no-config, not both")
			}
			if p, must := configPath(opts); p != "" {
				if err := applyConfig(c, p, must); err != nil {
					return err
				}
			}
			opts.progressSet = c.Flags().Changed("progress")
			opts.remoteTimeSet = c.Flags().Changed("remote-time")
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return run(c.Context(), io, opts)
		},
	}
	c.SetIn(io.In)
	c.SetOut(io.Out)
	c.SetErr(io.ErrOut)
	// Built only when --version is asked for: curl_version() initialises
	// libcurl's LDAP and SASL libraries, which costs every run milliseconds.
	cobra.AddTemplateFunc("multigetVersion", versionText)
	c.SetVersionTemplate("{{multigetVersion}}")
	c.SetFlagErrorFunc(flagError)
	c.AddCommand(newCompletionCmd(io))
	setHelp(c)

	f := c.Flags()
	f.SortFlags = false
	f.StringArrayVarP(&opts.Inputs, "input", "i", nil, "read URLs from `FILE` (repeatable; - is stdin; .meta4 is Metalink)")
	f.StringArrayVar(&opts.Metalinks, "metalink", nil, "read files, URLs and hashes from Metalink `FILE`")
	f.StringVarP(&opts.Dir, "dir", "d", ".", "save under `DIR`, created if missing")
	f.BoolVar(&opts.Tree, "tree", false, "save as DIR/HOST/PATH instead of DIR/NAME")
	f.IntVarP(&opts.Parallel, "parallel", "j", 64, "`N` connections at once")
	f.IntVar(&opts.PerHost, "per-host", 0, "at most `N` connections per host (0 = no cap)")
	f.IntVar(&opts.Streams, "streams", 0, "`N` HTTP/2 streams per connection (default: what the server allows, up to 256)")
	f.BoolVar(&opts.NoClobber, "no-clobber", false, "keep existing files (reported skipped)")
	f.Var(newSeconds(&opts.ConnectTimeout, 30*time.Second), "connect-timeout", "give up connecting after `DUR`")
	f.Var(newSeconds(&opts.MaxTime, 0), "max-time", "give up a transfer after `DUR` (0 = never)")
	f.StringArrayVarP(&opts.Headers, "header", "H", nil, "send `HEADER` \"Name: value\"; @FILE: a file of them")
	f.StringVarP(&opts.UserAgent, "user-agent", "A", "multiget/"+version(), "send `AGENT` as User-Agent")
	f.BoolVarP(&opts.Insecure, "insecure", "k", false, "do not verify TLS certificates")
	f.StringVar(&opts.CACert, "cacert", "", "trust the CA certificates in `FILE` (PEM)")
	f.StringVarP(&opts.Proxy, "proxy", "x", "", "use the proxy at `URL`")
	f.StringVar(&opts.Proto, "proto", "http,https,ftp,ftps", "allow only the protocols in `LIST`")
	f.BoolVar(&opts.FailFast, "fail-fast", false, "stop everything at the first failure")
	f.StringVar(&opts.Progress, "progress", "auto", "`MODE`: auto, bar, plain or none")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only failures and the summary (no bar)")
	f.BoolVar(&opts.JSON, "json", false, "one JSON object per entry on stdout")
	f.BoolVar(&opts.JSONSummary, "json-summary", false, "end stdout with a JSON summary (implies --json)")
	f.IntVar(&opts.Retry, "retry", 3, "retry transient failures up to `N` times")
	f.Var(newSeconds(&opts.RetryDelay, time.Second), "retry-delay", "first backoff `DUR`, then doubled")
	f.Var(newSeconds(&opts.RetryMaxDelay, 30*time.Second), "retry-max-delay", "longest backoff `DUR`, a server's Retry-After included")
	f.BoolVarP(&opts.Continue, "continue", "c", false, "resume the NAME.part files of an earlier run")
	f.BoolVarP(&opts.Update, "update", "N", false, "ask if an existing file changed (304: unchanged)")
	f.BoolVarP(&opts.RemoteTime, "remote-time", "R", false, "give files the server's time (on with -N)")
	f.Var(newSeconds(&opts.StallTimeout, 60*time.Second), "stall-timeout", "retry a transfer silent for `DUR`")
	f.StringArrayVar(&opts.ChecksumFiles, "checksum-file", nil, "verify files against `FILE` (sha256sum output)")
	f.BoolVar(&opts.ContentDisposition, "content-disposition", false, "name files as the server says (sanitised)")
	f.IntVar(&opts.MaxRedirs, "max-redirs", 10, "follow at most `N` redirects")
	f.IntVar(&opts.Split, "split", 1, "fetch a large file as `N` ranges at once")
	f.StringVar(&opts.MinSplitSize, "min-split-size", "20M", "split only files of at least `SIZE`")
	f.StringVar(&opts.LimitRate, "limit-rate", "", "cap each transfer at `RATE` bytes/s (500K, 2M)")
	f.StringVar(&opts.TotalRate, "total-rate", "", "cap all at `RATE` together, shared equally")
	f.BoolVar(&opts.Netrc, "netrc", false, "use credentials from ~/.netrc")
	f.StringVar(&opts.NetrcFile, "netrc-file", "", "use credentials from the netrc `FILE`")
	f.StringVar(&opts.NoProxy, "noproxy", "", "reach `HOSTS` without a proxy (* = all)")
	f.BoolVar(&opts.Compressed, "compressed", false, "save compressed bodies decoded (no -c)")
	f.StringVar(&opts.Config, "config", "", "read flags from `FILE` (see CONFIG FILE)")
	f.BoolVar(&opts.NoConfig, "no-config", false, "read no config file")
	f.StringVar(&opts.Shard, "shard", "", "take only shard `K/N` of the entries")
	f.BoolVar(&opts.ShardFromEnv, "shard-from-env", false, "--shard from an Indexed Job's environment")
	f.StringVar(&opts.FailedList, "failed-list", "", "write the entries that did not end ok to `FILE`")
	f.BoolVar(&opts.DryRun, "dry-run", false, "check the lists, print the targets; no request")
	addCurlFlags(c, opts)
	f.BoolP("help", "h", false, "print this help")
	// Positional arguments are URLs: offering file names for them would
	// only mislead.
	c.ValidArgsFunction = cobra.NoFileCompletions
	_ = c.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions(
		[]string{"auto", "bar", "plain", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("proto", cobra.FixedCompletions(
		knownProtocols, cobra.ShellCompDirectiveNoFileComp))
	completeFlagValues(c)
	return c
}

// Main runs multiget with the process's arguments and streams and returns
// the exit code. After a SIGINT or SIGTERM it does not return: once the
// run is cleaned up and summed up, the process dies of that signal.
func Main() int {
	io := SystemStreams()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// Without this, the first write to a stdout or stderr whose reader has
	// gone (multiget --json | head -1) kills the process (exit 141, no
	// summary); with it the write fails with EPIPE and the run stops as the
	// README says (report.Options.Broken).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	first := make(chan os.Signal, 1)
	go func() {
		sig := <-sigs
		first <- sig
		cancel()
		// A second signal ends the process at once, the bar removed first
		// so that the shell's prompt starts on a clean line.
		sig = <-sigs
		io.abandon()
		dieOf(sig)
	}()
	code := Execute(ctx, io, os.Args[1:])
	if code == ExitInterrupted {
		select {
		case sig := <-first:
			dieOf(sig)
		default:
		}
	}
	return code
}

// dieOf ends the process by sig's default action, as a shell expects of a
// program it interrupted: bash stops a loop (for ...; do multiget ...; done)
// only when the child died of SIGINT, not when it exited 130. Exit 130
// remains where the signal cannot kill (it was ignored when we started).
func dieOf(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if ok {
		signal.Reset(s)
		_ = syscall.Kill(os.Getpid(), s)
		// The kernel acts on the signal as this thread returns from kill(2),
		// or on another thread of the process; give it that moment.
		time.Sleep(100 * time.Millisecond)
	}
	os.Exit(ExitInterrupted)
}

// Execute runs the command with args and maps the outcome to an exit code.
func Execute(ctx context.Context, io *IOStreams, args []string) int {
	return execute(ctx, io, args, nil)
}

// execute is Execute with NewRootCmd's runF, so that tests see the options
// a command line parses to and the exit code and message it maps to.
func execute(ctx context.Context, io *IOStreams, args []string, runF func(context.Context, *Options) error) int {
	c := NewRootCmd(io, runF)
	plainUsages(c, args)
	c.SetArgs(args)
	err := c.ExecuteContext(ctx)
	return exitCode(io, err)
}

// codeOf is the exit code err of a run maps to, for the --json-summary
// record; exitCode also prints what err says.
func codeOf(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	}
	return ExitFailed
}

// exitCode is the one place where outcomes become exit codes.
func exitCode(io *IOStreams, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	usage := func(e error) int {
		fmt.Fprintf(io.ErrOut, "multiget: error: %v\nmultiget: hint: see multiget --help\n", e)
		return ExitUsage
	}
	var fe *FlagError
	if errors.As(err, &fe) {
		return usage(fe.Err)
	}
	var ie *InputError
	if errors.As(err, &ie) {
		fmt.Fprintf(io.ErrOut, "multiget: error: %v\n", ie.Err)
		return ExitUsage
	}
	// cobra's own mistakes, which do not pass through the flag error func.
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		return usage(err)
	}
	fmt.Fprintf(io.ErrOut, "multiget: error: %v\n", err)
	return ExitFailed
}
