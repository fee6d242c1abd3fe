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
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	curl "github.com/andelf/go-curl"
)

// Config holds what the command line says about transfers.
type Config struct {
	Parallel       int           // transfers at once (>= 1)
	PerHost        int           // transfers per scheme://host:port at once, 0 = no cap
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

	Tuning Tuning // optimizations switched off (tuning.go)
}

// Stats sums up a run.
type Stats struct {
	OK, Failed, Skipped, Invalid int
	Bytes                        int64
	Interrupted                  bool // the context was cancelled
	FailFast                     bool // stopped by the first failure
	// StopReason says why the run stopped early ("interrupted", ...).
	StopReason string
	// Waits counts how the loop slept: through select(2) on curl_multi_fdset,
	// or through curl_multi_poll when a socket was >= FD_SETSIZE.
	SelectWaits, PollWaits int
}

// Done is the number of entries that got a result.
func (s Stats) Done() int { return s.OK + s.Failed + s.Skipped + s.Invalid }

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
	host     string
	begin    time.Time
	attempts int
	received int64 // body bytes over all attempts

	// Resume state: offset bytes of NAME.part are a prefix of the resource
	// identified by validator (an ETag or Last-Modified value).
	offset    int64
	validator string

	due         time.Time // when a waiting retry may start
	last        Result    // outcome of the latest attempt, for reporting
	freeRestart bool      // a restart from byte 0 was granted outside the --retry budget
	metaSet     bool      // the .meta file describes the current .part
	partSeen    bool      // a .part existed before some attempt: a stale .meta may too
	part        partHold  // this process's hold on NAME.part (see "Owning NAME.part" in xfer.c)
	reload      bool      // another process held NAME.part: look at it afresh (-c) next attempt
	fdWaits     int       // attempts that ran out of descriptors: not spent from --retry
	tmpfd       int       // the complete unnamed file, when hasTmp
	hasTmp      bool
	body        unsafe.Pointer // a complete body for the linker to write, when hasBody
	bodyLen     int64
	hasBody     bool

	// Split downloads (split.go).
	segs    []*segment
	segURL  string // where the ranges are fetched: the probe's effective URL
	cdName  string // the probe's Content-Disposition name, when used
	total   int64
	noSplit bool      // the split decision was made (or cannot be)
	metaAt  time.Time // when the ranges' progress was last recorded
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

	seg *segment // the range this transfer fetches, for split downloads
}

type engine struct {
	cfg     Config
	obs     Observer
	multi   *curl.CURLM
	tmpl    *curl.CURL
	headers slist
	foreign slist    // headers without the credentials, for another host (split.go)
	tls     tlsShare // TLS sessions shared by all handles
	pz      pauser   // transfers paused for want of a write buffer

	active   map[uintptr]*transfer
	perHost  map[string]int
	deferred []*job // waiting for their host to have a free slot
	retries  []*job // waiting for their backoff, sorted by due
	in       <-chan []Entry
	inDone   bool
	batch    []Entry // the batch being taken from, from index bi on
	bi       int

	verifying int
	verified  chan verifyResult
	// Unnamed files being linked into place (see "Small files" in xfer.c).
	linking map[int64]linkWait
	linkID  int64
	linkBuf []linked

	pool      []*curl.CURL      // easy handles kept for reuse
	plain     int               // running transfers that are not ranges of a split download
	splitJobs map[*job]struct{} // split downloads in progress

	stats      Stats
	doneBytes  int64
	stopReason string
	lastProg   time.Time
	lastYield  time.Time
	started    int // transfers started since the last perform
	rate       rateState
}

// Run downloads every entry received from in until it is closed, the
// context is cancelled, or (with FailFast) an entry fails. Each entry taken
// from in gets exactly one Result through obs. Entries come in batches:
// a channel operation per entry would wake the producing goroutine (and
// switch threads) once per entry, a measurable cost on lists of small files.
// Runs in one process take turns: a second Run waits until the first has
// returned (the C side's writer threads, linker and switches are shared).
func Run(ctx context.Context, cfg Config, in <-chan []Entry, obs Observer) (Stats, error) {
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	e := &engine{
		cfg:       cfg,
		obs:       obs,
		in:        in,
		active:    make(map[uintptr]*transfer),
		perHost:   make(map[string]int),
		verified:  make(chan verifyResult, 16),
		splitJobs: make(map[*job]struct{}),
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
	e.obs.Progress(e.progress())
	return e.stats, nil
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
	e.tls = newTLSShare()
	e.pz = newPauser()
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
	e.tls.free() // after every handle that used it
	e.pz.free()  // after every transfer
}

// multiPtr reads the CURLM* out of the binding's handle, whose only field
// it is; the binding offers no accessor, and curl_multi_poll needs it.
func (e *engine) multiPtr() unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(e.multi))
}

// configureTemplate sets every option shared by all transfers once; each
// transfer starts as a duplicate of this handle.
func (e *engine) configureTemplate() error {
	h := e.tmpl
	c := e.cfg
	redir := redirectProtocols(c.Protocols)
	type opt struct {
		opt int
		val interface{}
	}
	set := []opt{
		{curl.OPT_NOSIGNAL, 1},
		{curl.OPT_BUFFERSIZE, e.bufferSize()},
		{curl.OPT_FOLLOWLOCATION, redir != ""},
		{curl.OPT_MAXREDIRS, c.MaxRedirs},
		{optProtocolsStr, strings.Join(c.Protocols, ",")},
		{curl.OPT_FAILONERROR, 0},
	}
	if redir != "" {
		set = append(set, opt{optRedirProtocolsStr, redir})
	}
	if c.ConnectTimeout > 0 {
		set = append(set, opt{optConnectTimeoutMS, int(c.ConnectTimeout.Milliseconds())})
	}
	if c.MaxTime > 0 {
		set = append(set, opt{optTimeoutMS, int(c.MaxTime.Milliseconds())})
	}
	if c.UserAgent != "" {
		set = append(set, opt{curl.OPT_USERAGENT, c.UserAgent})
	}
	if c.Insecure {
		set = append(set, opt{curl.OPT_SSL_VERIFYPEER, 0}, opt{curl.OPT_SSL_VERIFYHOST, 0})
	}
	if c.CACert != "" {
		set = append(set, opt{curl.OPT_CAINFO, c.CACert})
	}
	if c.Proxy != "" {
		set = append(set, opt{curl.OPT_PROXY, c.Proxy})
	}
	for _, s := range set {
		if err := h.Setopt(s.opt, s.val); err != nil {
			return fmt.Errorf("libcurl option %d: %w", s.opt, err)
		}
	}
	if err := e.configureNetwork(h); err != nil {
		return err
	}
	if len(c.Headers) > 0 {
		if err := e.headers.set(h.GetHandle(), optHTTPHeader); err != nil {
			return err
		}
	}
	return setCallbacks(h.GetHandle())
}

// redirectProtocols: redirects only ever go to http or https, and only to
// those the user allowed.
func redirectProtocols(allowed []string) string {
	var r []string
	for _, p := range allowed {
		if p == "http" || p == "https" {
			r = append(r, p)
		}
	}
	return strings.Join(r, ",")
}

// baseResult is the Result of j so far, without a status.
func (e *engine) baseResult(j *job) Result {
	r := j.last
	r.Source, r.URL, r.Path = j.entry.Source, j.entry.AsWritten(), j.entry.Path
	r.Bytes = j.received
	r.Attempts = j.attempts
	r.Duration = time.Since(j.begin)
	return r
}

// outcome classifies a finished attempt.
type outcome int

const (
	outOK        outcome = iota
	outRetry             // transient: try again, resuming if possible
	outRestart           // try again from the first byte (bad range, restart)
	outFail              // final failure; NAME.part is removed
	outFailKeep          // final failure; NAME.part is kept for -c
	outCompleted         // a resume found the file already whole (416)
)

func (e *engine) complete(t *transfer, code int) {
	if t.seg != nil {
		e.completeSegment(t, code)
		return
	}
	j := t.job
	en := j.entry
	x := t.x
	res := Result{CurlCode: code}
	if v, err := t.easy.Getinfo(curl.INFO_RESPONSE_CODE); err == nil {
		res.HTTPCode, _ = v.(int)
	}
	if v, err := t.easy.Getinfo(curl.INFO_EFFECTIVE_URL); err == nil {
		res.EffectiveURL, _ = v.(string)
	}
	got := x.bytes()
	j.received += got
	j.partSeen = j.partSeen || x.preexisted()
	cdName := ""
	if e.cfg.ContentDisposition && en.NamedByURL {
		cdName = contentDispositionName(header(t.easy.GetHandle(), "Content-Disposition"))
	}
	httpOK := !isHTTP(en.URL) || (res.HTTPCode >= 200 && res.HTTPCode <= 299)

	var out outcome
	switch {
	case x.state() == stateRangeBad && x.otherVersion():
		res.Error = fmt.Sprintf("HTTP 206 answer is of another version than the %s asked for with If-Range: the file changed", j.validator)
		out = outRestart
	case x.state() == stateRangeBad && x.partGone():
		res.Error = fmt.Sprintf("%s changed since this run looked at it (another process?): starting over", en.Path+PartSuffix)
		out = outRestart
	case x.state() == stateRangeBad:
		res.Error = fmt.Sprintf("HTTP 206 answer does not start at byte %d", j.offset)
		out = outRestart
	case x.busy():
		// Another process is writing NAME.part: wait for it (retries with
		// backoff), never touching its file; then look at it afresh.
		res.Error = x.ioError().Error()
		j.reload = e.cfg.Continue
		out = outRetry
	case x.state() == stateRejected || (code == 0 && !httpOK):
		res.CurlCode = 0 // the abort was ours: the HTTP status is the reason
		res.Error = httpError(res.HTTPCode)
		switch {
		case res.HTTPCode == http.StatusRequestedRangeNotSatisfiable && j.offset > 0:
			if total := rangeTotal(header(t.easy.GetHandle(), "Content-Range")); total == j.offset {
				out = outCompleted
			} else {
				out = outRestart
			}
		case transientHTTP(res.HTTPCode):
			out = outRetry
		default:
			out = outFail
		}
	case x.state() == stateIOErr && x.outOfFDs():
		res.Error = x.ioError().Error()
		j.fdWaits++
		out = outRetry
	case x.state() == stateIOErr:
		res.Error = x.ioError().Error()
		out = outFail
	case t.stalled:
		res.CurlCode = 28
		res.Error = fmt.Sprintf("stalled: nothing received for %s (--stall-timeout)", e.cfg.StallTimeout)
		out = outRetry
	case code != 0:
		res.Error = curlMessage(x, code)
		out = outFail
		if transientCurl(code) {
			out = outRetry
		}
	default:
		// libcurl reports success for a connection closed inside the
		// header block: that is a cut like any other, never an empty file.
		out = outOK
		if why := x.incomplete(); why != "" {
			res.Error = why
			out = outRetry
		}
	}
	j.last = res

	switch out {
	case outRetry, outRestart:
		// Response headers are read only here: a success needs none of them.
		retryAfter := x.retryAfter()
		validator := responseValidator(t.easy.GetHandle())
		// A 206 this attempt appended to is proof that ranges work, with
		// or without Accept-Ranges (nginx sends none on a 206), and of the
		// version the resume asked for (see other_version in xfer.c).
		appended := x.state() == stateWriting && res.HTTPCode == http.StatusPartialContent
		if appended && validator == "" {
			validator = j.validator
		}
		// A range of an encoded body is no range of the decoded file.
		// An unnamed file keeps nothing: its body is fetched again whole.
		resumable := validator != "" && isHTTP(en.URL) && (appended || acceptsRanges(t.easy.GetHandle())) &&
			!e.cfg.Compressed && !x.tmpfile()
		// Keep what arrived when the next attempt can ask for the rest.
		untouched := out == outRetry && (x.state() == stateFresh || x.state() == stateRejected || x.outOfFDs()) && j.offset > 0 && j.validator != ""
		keep := untouched || (out == outRetry && resumable && x.state() == stateWriting)
		switch {
		case untouched:
			// The attempt wrote nothing (a refused connection, a 503): the
			// earlier attempts' prefix and validator still stand.
		case keep:
			if !x.keep() {
				res.Error = x.ioError().Error()
				j.last = res
				out = outFail
			} else {
				if x.restarted() {
					j.offset = got
				} else {
					j.offset += got
				}
				if validator != j.validator {
					j.validator, j.metaSet = validator, false
				}
			}
		default:
			x.discard()
			e.dropPart(j)
			j.offset, j.validator = 0, ""
		}
		if out == outFail {
			break
		}
		budget := j.attempts - min(j.fdWaits, maxFDWaits)
		if out == outRestart && !j.freeRestart {
			// A resume that found the prefix unusable (the file changed or
			// shrank) starts over once without spending a retry.
			j.freeRestart = true
		}
		if j.freeRestart {
			budget--
		}
		if budget > e.cfg.Retry || e.stopReason != "" {
			res.Error = fmt.Sprintf("%s (gave up after %s)", res.Error, plural(j.attempts, "attempt"))
			j.last = res
			if keep && j.offset > 0 {
				e.writeMeta(j)
				out = outFailKeep
			} else {
				out = outFail
			}
			break
		}
		e.removeTransfer(t)
		e.scheduleRetry(j, retryAfter)
		return
	}

	switch out {
	case outFail:
		x.discard()
		e.dropPart(j)
		e.removeTransfer(t)
		e.fail(j)
	case outFailKeep:
		e.removeTransfer(t)
		e.fail(j)
	case outOK, outCompleted:
		if out == outOK && !x.finish() {
			j.last.Error = x.ioError().Error()
			x.discard()
			e.dropPart(j)
			e.removeTransfer(t)
			e.fail(j)
			return
		}
		if fd := x.takeFD(); fd >= 0 {
			j.tmpfd, j.hasTmp = fd, true
		}
		if b, n, ok := x.takeBody(); ok {
			j.body, j.bodyLen, j.hasBody = b, n, true
		}
		e.removeTransfer(t)
		e.finishFile(j, cdName)
	}
}

func (e *engine) fail(j *job) {
	j.part.release()
	r := e.baseResult(j)
	r.Status = StatusFailed
	e.result(r)
}

// scheduleRetry puts j back in line after its backoff: the delay doubles
// from RetryDelay with jitter, is at least the server's Retry-After, and
// never exceeds RetryMaxDelay. A waiting retry holds no slot.
func (e *engine) scheduleRetry(j *job, retryAfter time.Duration) {
	e.queueRetry(j, time.Now().Add(e.backoff(j.attempts, retryAfter)))
}

// queueRetry puts j among the waiting retries, which are kept sorted by due.
func (e *engine) queueRetry(j *job, due time.Time) {
	j.due = due
	i := sort.Search(len(e.retries), func(i int) bool { return e.retries[i].due.After(due) })
	e.retries = slices.Insert(e.retries, i, j)
}

// backoff is the wait before the attempt after attempts.
func (e *engine) backoff(attempts int, retryAfter time.Duration) time.Duration {
	d := e.cfg.RetryDelay
	for i := 1; i < attempts && d < e.cfg.RetryMaxDelay; i++ {
		d *= 2
	}
	// Jitter in [d/2, d) spreads retries of many entries failing together.
	if d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	// Retry-After R: a wait in [R, 1.5 R], never sooner than the server
	// asked, and spread as widely as the backoff: entries told the same R
	// at the same moment (a 503 to all of them) must not return together.
	if retryAfter > d {
		d = retryAfter + rand.N(retryAfter/2+1)
	}
	if e.cfg.RetryMaxDelay > 0 && d > e.cfg.RetryMaxDelay {
		d = e.cfg.RetryMaxDelay
	}
	return d
}
