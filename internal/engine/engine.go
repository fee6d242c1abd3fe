// Package engine downloads entries through one libcurl multi handle.
//
// One goroutine owns the multi handle and every easy handle in it. The loop
// follows libcurl's multi interface: add transfers while slots are free,
// wait (fdset/select, or curl_multi_poll when a socket is beyond select's
// reach), perform, drain info_read, turn each finished transfer into a
// retry or into exactly one Result. Bodies are written by C code straight
// into NAME.part files that are renamed to NAME only on success (and after
// their checksums matched). The engine never prints: it reports through an
// Observer.
package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	curl "github.com/andelf/go-curl"

	"github.com/multiget/multiget/internal/store"
)

// Config holds what the command line says about transfers.
type Config struct {
	Parallel       int           // connections at once (>= 1); see mux.go for streams
	PerHost        int           // connections per scheme://host:port at once, 0 = no cap
	Streams        int           // HTTP/2 transfers per connection, 0 = what the server allows (mux.go)
	InFlight       int           // transfers at once, streams included, 0 = no cap (see InFlightCap)
	NoClobber      bool          // keep existing targets, report them skipped
	FailFast       bool          // the first failure stops the run
	ConnectTimeout time.Duration // 0 = libcurl's default
	MaxTime        time.Duration // whole-transfer limit, 0 = none
	StallTimeout   time.Duration // fail a transfer receiving nothing this long, 0 = never
	Headers        []string      // "Name: value"
	UserAgent      string
	Insecure       bool
	CACert         string
	Proxy          string
	Protocols      []string // allowed for list URLs, lowercase
	MaxRedirs      int

	Retry         int           // extra attempts after a transient failure
	RetryDelay    time.Duration // first backoff, doubled each time
	RetryMaxDelay time.Duration // backoff cap, Retry-After included
	Continue      bool          // resume NAME.part left by an earlier run

	// Reruns (rerun.go, remote.go): Update (-N) asks whether a saved file
	// changed; State records each saved file's version for it (nil: none);
	// RemoteTime (-R) gives a saved file the server's Last-Modified; Dir is
	// the --dir, which State's paths are relative to.
	Update     bool
	State      *store.Store
	RemoteTime bool
	Dir        string

	// ContentDisposition lets a server's filename replace a name taken from
	// the URL; Claim (when set) guards the new path against duplicates.
	ContentDisposition bool
	Claim              func(path, source string) error

	// Split fetches a file of at least MinSplitSize bytes as up to Split
	// ranges at once, when its server allows ranges (see split.go).
	Split        int
	MinSplitSize int64

	// Network options (options.go, rate.go).
	Netrc      bool   // use ~/.netrc credentials (CURL_NETRC_OPTIONAL)
	NetrcFile  string // use this netrc file instead
	NoProxy    string // hosts reached without the proxy, overriding NO_PROXY
	Compressed bool   // ask for every encoding libcurl decodes; no resume
	LimitRate  int64  // bytes/s per transfer, 0 = no cap
	TotalRate  int64  // bytes/s across all transfers, 0 = no cap

	// curl's options (options.go, cookies.go).
	RetryAllErrors bool     // every failed attempt is retried within Retry, disk errors aside
	IPResolve      int      // 4 or 6: resolve names to that family only; 0 = both
	Resolve        []string // CURLOPT_RESOLVE entries, HOST:PORT:ADDR
	ConnectTo      []string // CURLOPT_CONNECT_TO entries, HOST1:PORT1:HOST2:PORT2
	User           string   // USER[:PASS] for the entries' hosts (CURLOPT_USERPWD)
	Cookie         string   // "name=value; ..." sent with every request
	CookieFile     string   // cookies to start the run's cookie store with
	CookieJar      string   // where the run's cookies are written at its end
	// OnAttempt, when set, is called from the loop's goroutine at the end
	// of every transfer attempt (verbose.go); nil costs nothing.
	OnAttempt func(Attempt)

	Tuning Tuning // optimizations switched off (tuning.go)
}

// Stats sums up a run.
type Stats struct {
	OK, Failed, Skipped, Invalid int
	Unchanged                    int // results of StatusUnchanged (-N)
	Unfinished                   int // results of StatusInterrupted
	Bytes                        int64
	// StoreError is the first failure to write the state store (-N).
	StoreError  string
	Interrupted bool // the context was cancelled
	FailFast    bool // stopped by the first failure
	// StopReason says why the run stopped early ("interrupted", ...).
	StopReason string
	// Waits counts how the loop slept: through select(2) on curl_multi_fdset,
	// or through curl_multi_poll when a socket was >= FD_SETSIZE.
	SelectWaits, PollWaits int
	// Hosts lists the hosts that throttled the run (429/503, refused
	// connections, timeouts: see host.go), in no order; nil when none did.
	Hosts []HostStats
}

// Done is the number of entries that got a result.
func (s Stats) Done() int {
	return s.OK + s.Failed + s.Skipped + s.Invalid + s.Unchanged + s.Unfinished
}

// DiskError is a failure to create or write an output file.
type DiskError struct {
	Op   string
	Path string
	Err  error
}

func (e *DiskError) Error() string { return fmt.Sprintf("cannot %s %s: %v", e.Op, e.Path, e.Err) }
func (e *DiskError) Unwrap() error { return e.Err }

// PartSuffix marks a file still being written; MetaSuffix (after it) the
// file that records what the .part holds, so -c can resume it safely.
const (
	PartSuffix = ".part"
	MetaSuffix = ".meta"
)

// maxWait bounds every sleep of the loop so that cancellation and newly read
// entries are noticed promptly even when libcurl has no timer due.
const maxWait = 100 * time.Millisecond

// job is one entry across all its attempts.
type job struct {
	entry    Entry
	host     string   // hostKey(url()): what --per-host counts
	origin   string   // hostKey(entry.URL): where -H credentials may go
	state    jobState // see state.go
	begin    time.Time
	tries    retryBudget
	received int64 // body bytes over all attempts

	// Resume state: offset bytes of NAME.part are a prefix of the resource
	// identified by validator (an ETag or Last-Modified value).
	offset    int64
	validator string
	resume    resumeRecord // what this run knows of NAME.part.meta
	// whole is the size of a finished NAME a -c rerun found with no
	// NAME.part to resume: the attempt asks only whether it is whole
	// (rerun.go). 0 otherwise.
	whole int64
	// Mirrors (mirrors.go): the URL asked (0: entry.URL, i: Mirrors[i-1]),
	// how many URLs this round has tried, and the URLs tried so far.
	mirror, roundTried int
	tried              []string
	noSpread           bool // a spread split failed its checksum: one URL at a time
	// cond is the condition header of a -N rerun's request ("" for none);
	// etag and lastMod the version headers of the response the file came
	// from (remote.go).
	cond          string
	savedAs       string // the file cond asks about (-N): Entry.Path, or the server's name for it
	etag, lastMod string

	due  time.Time // when a waiting retry may start
	last Result    // outcome of the latest attempt, for reporting
	part partHold  // this process's hold on NAME.part (see "Owning NAME.part" in part.c)
	out  output    // the finished body when not in NAME.part (commit.go)

	// Split downloads (split.go).
	segs      []*segment
	segURL    string // where the ranges are fetched: the probe's effective URL
	segHost   string // hostKey(segURL)
	cdName    string // the probe's Content-Disposition name, when used
	total     int64
	splitting splitChoice // whether the next probe may split (state.go)
	metaAt    time.Time   // when the ranges' progress was last recorded
}

type transfer struct {
	job      *job
	easy     *curl.CURL
	x        cxfer
	start    time.Time
	metaDone bool // recordMeta has looked at this attempt's response

	// Stall detection: the byte count last seen and when it last moved.
	// (libcurl's low-speed check averages over seconds, so it would fire
	// several seconds late after data had been flowing.)
	seenBytes int64
	seenAt    time.Time
	stalled   bool

	seg    *segment // the range this transfer fetches, for split downloads
	url    string   // what it asked for (the entry's URL, a range's, another of the file's)
	host   string   // what it counts for in sched.hosts
	ticket uint64   // from sched.take: how it ended is reported with it
	stream bool     // counted as a stream of a multiplexed connection (mux.go)
	conn   connID   // the connection libcurl gave it, once known (conns.go)
	opens  bool     // a stream its host waits on: it opens a connection (mux.go, ramp)
	probe  bool     // the opener that may instead be given a connection in use (mux.go)
}

type engine struct {
	cfg     Config
	obs     Observer
	multi   *curl.CURLM
	tmpl    *curl.CURL
	headers slist
	foreign slist    // headers without the credentials, for another host (split.go)
	tls     tlsShare // TLS sessions (and the cookie store) shared by all handles

	resolve, connectTo slist // --resolve, --connect-to

	active map[uintptr]*transfer
	lastOn map[connID]*transfer // the transfer last given each connection (conns.go)
	sch    sched                // what waits, and each host's connections
	in     <-chan []Entry
	inDone bool
	batch  []Entry // the batch being taken from, from index bi on
	bi     int

	verifying int
	verified  chan verifyResult
	// Unnamed files being linked into place (see "Small files" in linker.c).
	linking map[int64]linkWait
	linkID  int64
	linkBuf []linked

	pool  []*curl.CURL // easy handles kept for reuse
	plain int          // running transfers that are not ranges of a split download
	bufs  bufSizer     // receive buffers by what each host sends (bufsize.go)

	illegal string // the first illegal job state transition (state.go)

	stats      Stats
	doneBytes  int64
	stopReason string
	lastProg   time.Time
	lastYield  time.Time
	rate       rateState
}

// Run downloads every entry received from in until it is closed, the
// context is cancelled, or (with FailFast) an entry fails. Each entry taken
// from in gets exactly one Result through obs. Entries come in batches:
// a channel operation per entry would wake the producing goroutine (and
// switch threads) once per entry, a measurable cost on lists of small files.
// Runs in one process take turns: a second Run waits until the first has
// returned (the C side's linker and switches are shared).
func Run(ctx context.Context, cfg Config, in <-chan []Entry, obs Observer) (Stats, error) {
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	if cfg.Streams < 0 {
		cfg.Streams = 0
	}
	e := &engine{
		cfg:      cfg,
		obs:      obs,
		in:       in,
		active:   make(map[uintptr]*transfer),
		sch:      newSched(cfg.PerHost, cfg.RetryMaxDelay, cfg.Streams, cfg.Tuning),
		bufs:     newBufSizer(Lib().Num, cfg.Tuning),
		lastOn:   make(map[connID]*transfer),
		verified: make(chan verifyResult, 16),
	}
	// The loop spends its time in libcurl and select(2), outside Go. Left
	// to the scheduler it moved between OS threads (four on 2 cores), and
	// every move is a futex wake-up and a cold cache; pinned, 20,000
	// one-byte files took about 15% less wall time (and half the context
	// switches). libcurl's handles do not care which thread calls them.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer beginRun(cfg.Tuning)()
	if err := e.init(); err != nil {
		return Stats{}, err
	}
	defer e.close()
	defer runDone()
	e.loop(ctx)
	e.stats.Hosts = e.sch.hostStats()
	e.obs.Progress(e.progress())
	return e.stats, e.writeCookieJar()
}

func (e *engine) init() error {
	e.multi = curl.MultiInit()
	if e.multiPtr() == nil {
		return errors.New("libcurl: cannot create a multi handle")
	}
	e.tmpl = curl.EasyInit()
	if e.tmpl == nil || e.tmpl.GetHandle() == nil {
		return errors.New("libcurl: cannot create an easy handle")
	}
	e.headers = newSlist(e.cfg.Headers)
	e.foreign = newSlist(withoutCredentials(e.cfg.Headers))
	e.tls = newTLSShare(e.cookies())
	// libcurl multiplexes by default since 7.62 (CURLPIPE_MULTIPLEX) and
	// runs up to this many streams per connection (100 by default), fewer
	// when the server's SETTINGS_MAX_CONCURRENT_STREAMS says so: then it
	// opens another connection. Without --streams the engine finds each
	// server's limit below MaxStreams (mux.go), so libcurl's own is that.
	streams := e.cfg.Streams
	if streams < 1 {
		streams = defaultStreams
		if e.sch.mux.probe {
			streams = MaxStreams
		}
	}
	if err := e.multi.Setopt(moptMaxConcurrentStreams, streams); err != nil {
		return fmt.Errorf("libcurl: CURLMOPT_MAX_CONCURRENT_STREAMS: %w", err)
	}
	e.sch.mux.curlCap = streams
	// --per-host is also libcurl's own cap per host name and port, so that
	// it holds where the scheduler's count and libcurl's choice of
	// connection differ: before 8.0 libcurl opens a connection for each
	// stream started past the room it finds on the host's connections
	// (docs/design.md, the ramp), and 500 files at --per-host 2 to a
	// server allowing 20 streams took 80 connections. A transfer past the
	// cap waits inside libcurl until one of the host's connections has
	// room, or closes an idle one to make its own.
	if e.cfg.PerHost > 0 {
		if err := e.multi.Setopt(moptMaxHostConnections, e.cfg.PerHost); err != nil {
			return fmt.Errorf("libcurl: CURLMOPT_MAX_HOST_CONNECTIONS: %w", err)
		}
	}
	return e.configureTemplate()
}

func (e *engine) close() {
	for _, t := range e.active {
		t.x.discard()
		e.removeTransfer(t)
	}
	for _, h := range e.pool {
		h.Cleanup()
	}
	if e.tmpl != nil {
		e.tmpl.Cleanup()
	}
	if e.multi != nil {
		e.multi.Cleanup()
	}
	e.headers.free()
	e.foreign.free()
	e.resolve.free()
	e.connectTo.free()
	e.tls.free() // after every handle that used it
}

// multiPtr reads the CURLM* out of the binding's handle, whose only field
// it is; the binding offers no accessor, and curl_multi_poll needs it.
func (e *engine) multiPtr() unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(e.multi))
}

// baseResult is the Result of j so far, without a status.
func (e *engine) baseResult(j *job) Result {
	r := j.last
	r.Source, r.URL, r.Path = j.entry.Source, j.entry.AsWritten(), j.entry.Path
	r.Bytes = j.received
	r.Attempts = j.tries.attempts
	for _, s := range j.segs {
		if !s.probe {
			r.Ranges++
		}
	}
	r.Duration = time.Since(j.begin)
	r.Tried = j.tried
	return r
}
