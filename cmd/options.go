package cmd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/multiget/multiget/internal/sums"
)

// Options is everything the command line says.
type Options struct {
	URLs           []string
	Inputs         []string
	Metalinks      []string // --metalink; also -i files named *.meta4, *.metalink
	Dir            string
	Tree           bool
	Parallel       int
	PerHost        int
	Streams        int
	NoClobber      bool
	ConnectTimeout time.Duration
	MaxTime        time.Duration
	Headers        []string
	UserAgent      string
	Insecure       bool
	CACert         string
	Proxy          string
	Proto          string
	FailFast       bool
	Progress       string
	progressSet    bool
	Quiet          bool
	JSON           bool
	JSONSummary    bool

	Retry              int
	RetryDelay         time.Duration
	RetryMaxDelay      time.Duration
	Continue           bool
	Update             bool // -N
	RemoteTime         bool // -R; on by default with -N
	remoteTimeSet      bool // -R given, either way
	StallTimeout       time.Duration
	ChecksumFiles      []string
	ContentDisposition bool
	MaxRedirs          int
	Split              int
	MinSplitSize       string
	minSplitSize       int64

	Netrc      bool
	NetrcFile  string
	NoProxy    string
	Compressed bool
	LimitRate  string
	TotalRate  string

	Config       string
	NoConfig     bool
	Shard        string
	ShardFromEnv bool
	DryRun       bool
	FailedList   string

	curlOptions // curlflags.go

	getenv func(string) string // the environment (IOStreams.Getenv)
	shardK int                 // this process's shard, 1-based; 0 = no sharding
	shardN int

	protocols []string   // Proto, parsed
	limitRate int64      // LimitRate in bytes/s
	totalRate int64      // TotalRate in bytes/s
	headers   []string   // Headers with @FILE expanded
	sums      *sums.File // every --checksum-file, merged
}

var knownProtocols = []string{"http", "https", "ftp", "ftps"}

func (o *Options) validate() error {
	if len(o.URLs) == 0 && len(o.Inputs) == 0 && len(o.Metalinks) == 0 {
		return flagErrorf("nothing to download: give URLs as arguments or a list with -i FILE (-i - for stdin)")
	}
	// The summary object ends a stream of --json records: alone after
	// text lines it would be one JSON line a reader cannot tell apart.
	o.JSON = o.JSON || o.JSONSummary
	if o.Parallel < 1 {
		return flagErrorf("--parallel must be at least 1, got %d", o.Parallel)
	}
	if o.PerHost < 0 {
		return flagErrorf("--per-host must be 0 (no cap) or more, got %d", o.PerHost)
	}
	if o.Streams < 0 {
		return flagErrorf("--streams must be at least 1 (or 0: what the server allows), got %d", o.Streams)
	}
	if o.ConnectTimeout < 0 || o.MaxTime < 0 {
		return flagErrorf("timeouts cannot be negative")
	}
	stdin := 0
	for _, in := range o.Inputs {
		if in == "-" {
			stdin++
		}
		if in == "" {
			return flagErrorf("--input needs a file name (or - for stdin)")
		}
	}
	for _, in := range o.Metalinks {
		if in == "-" {
			stdin++
		}
		if in == "" {
			return flagErrorf("--metalink needs a file name (or - for stdin)")
		}
	}
	if stdin > 1 {
		return flagErrorf("stdin (-i - or --metalink -) can be read only once")
	}
	switch o.Progress {
	case "auto", "bar", "plain", "none":
	default:
		return flagErrorf("--progress must be auto, bar, plain or none, got %q", o.Progress)
	}
	if err := o.validateCurl(); err != nil {
		return err
	}
	o.protocols = nil
	for _, p := range strings.Split(o.Proto, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		ok := false
		for _, k := range knownProtocols {
			ok = ok || k == p
		}
		if !ok {
			return flagErrorf("--proto: unknown protocol %q (supported: %s)", p, strings.Join(knownProtocols, ","))
		}
		o.protocols = append(o.protocols, p)
	}
	if len(o.protocols) == 0 {
		return flagErrorf("--proto allows no protocol")
	}
	if o.Retry < 0 || o.RetryDelay < 0 || o.RetryMaxDelay < 0 || o.StallTimeout < 0 {
		return flagErrorf("--retry, --retry-delay, --retry-max-delay and --stall-timeout cannot be negative")
	}
	if o.MaxRedirs < 0 {
		return flagErrorf("--max-redirs cannot be negative")
	}
	if o.Split < 1 || o.Split > 64 {
		return flagErrorf("--split must be between 1 and 64, got %d", o.Split)
	}
	n, err := parseSize(o.MinSplitSize)
	if err != nil {
		return flagErrorf("--min-split-size: %v", err)
	}
	o.minSplitSize = n
	headers, err := expandHeaders(o.Headers)
	if err != nil {
		return err
	}
	o.headers = headers
	for _, h := range o.headers {
		name, _, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(h, "\r\n") {
			return flagErrorf("--header %q: write it as \"Name: value\"", h)
		}
	}
	var err2 error
	if o.limitRate, err2 = parseRate("--limit-rate", o.LimitRate); err2 != nil {
		return err2
	}
	if o.totalRate, err2 = parseRate("--total-rate", o.TotalRate); err2 != nil {
		return err2
	}
	if o.NetrcFile != "" {
		if _, err := os.Stat(o.NetrcFile); err != nil {
			return flagErrorf("--netrc-file: %v", err)
		}
	}
	switch {
	case o.Shard != "" && o.ShardFromEnv:
		return flagErrorf("give --shard or --shard-from-env, not both")
	case o.Shard != "":
		if o.shardK, o.shardN, err2 = parseShard(o.Shard); err2 != nil {
			return err2
		}
	case o.ShardFromEnv:
		getenv := o.getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		if o.shardK, o.shardN, err2 = shardFromEnv(getenv); err2 != nil {
			return err2
		}
	}
	if o.Update && o.NoClobber {
		return flagErrorf("-N cannot be combined with --no-clobber: -N replaces a file the server changed, --no-clobber keeps every existing file; give one")
	}
	if o.Compressed && o.Continue {
		return flagErrorf("-c cannot be combined with --compressed: a byte range of a compressed body is not a range of the saved, decoded file")
	}
	if o.CACert != "" {
		if _, err := os.Stat(o.CACert); err != nil {
			return flagErrorf("--cacert: %v", err)
		}
	}
	return o.loadChecksumFiles()
}

// hasStdin says whether a list or Metalink is read from stdin.
func (o *Options) hasStdin() bool {
	for _, in := range append(append([]string{}, o.Inputs...), o.Metalinks...) {
		if in == "-" {
			return true
		}
	}
	return false
}

// expandHeaders replaces each -H @FILE by the headers in FILE, one per
// line (blank lines and # comments skipped), so tokens stay out of the
// process list.
func expandHeaders(in []string) ([]string, error) {
	var out []string
	for _, h := range in {
		name, ok := strings.CutPrefix(h, "@")
		if !ok {
			out = append(out, h)
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--header @%s: %v", name, unwrapPath(err))}
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimRight(l, "\r")
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				continue
			}
			out = append(out, l)
		}
	}
	return out, nil
}

func (o *Options) loadChecksumFiles() error {
	for _, name := range o.ChecksumFiles {
		f, err := os.Open(name)
		if err != nil {
			return &InputError{Err: fmt.Errorf("--checksum-file: %v", err)}
		}
		parsed, err := sums.Parse(name, f)
		f.Close()
		if err != nil {
			return &InputError{Err: fmt.Errorf("--checksum-file %v", err)}
		}
		o.sums = o.sums.Merge(parsed)
	}
	return nil
}
