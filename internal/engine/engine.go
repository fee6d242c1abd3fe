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
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"

	curl "github.com/andelf/go-curl"
	"golang.org/x/sys/unix"
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
	pair       pairing
	rate       rateState
}

// Run downloads every entry received from in until it is closed, the
// context is cancelled, or (with FailFast) an entry fails. Each entry taken
// from in gets exactly one Result through obs. Entries come in batches:
// a channel operation per entry would wake the producing goroutine (and
// switch threads) once per entry, a measurable cost on lists of small files.
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
		pair:      pairing{n: -1},
	}
	// The loop spends its time in libcurl and select(2), outside Go. Left
	// to the scheduler it moved between OS threads (four on 2 cores), and
	// every move is a futex wake-up and a cold cache; pinned, 20,000
	// one-byte files took about 15% less wall time (and half the context
	// switches). libcurl's handles do not care which thread calls them.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tuneMalloc()
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

func (e *engine) loop(ctx context.Context) {
	for {
		if e.stopReason == "" && ctx.Err() != nil {
			reason := "interrupted"
			var sc *StopCause
			if errors.As(context.Cause(ctx), &sc) {
				reason = sc.Reason
			}
			e.stop(reason)
			e.stats.Interrupted = true
		}
		e.collectVerified(false)
		e.collectLinks(false)
		if e.stopReason != "" {
			e.stats.StopReason = e.stopReason
			e.abortAll()
			for e.verifying > 0 {
				e.collectVerified(true)
			}
			for len(e.linking) > 0 {
				e.collectLinks(true)
			}
			return
		}
		e.fill(ctx)
		if e.stopReason != "" {
			continue
		}
		if len(e.active) == 0 && len(e.linking) > 0 {
			// Only files being named are left (or the next entries wait
			// for their results): that takes microseconds.
			e.collectLinks(true)
			continue
		}
		if len(e.active) == 0 {
			if e.inDone && e.bi >= len(e.batch) && len(e.deferred) == 0 && len(e.retries) == 0 &&
				e.verifying == 0 && len(e.splitJobs) == 0 {
				return
			}
			e.idle(ctx)
			continue
		}
		e.shareRates()
		e.yield()
		// A transfer just unpaused has data for perform already: no wait.
		if e.pz.unpause() == 0 {
			e.wait()
		}
		// The requests of transfers started since the last perform leave
		// together over a multiplexed connection (see xfer.c); a single
		// request has nothing to wait for.
		cork := e.started >= 2
		e.started = 0
		if cork {
			corkMux(true)
		}
		_, err := e.multi.Perform()
		if cork {
			corkMux(false)
		}
		if err != nil {
			// A multi-level error leaves no transfer trustworthy.
			e.stop("libcurl: " + err.Error())
			continue
		}
		e.drain()
		if len(e.linking) > 0 {
			linkKick()
		}
		e.checkSplits()
		e.recordMeta()
		e.checkStalls()
		e.maybeProgress(false)
	}
}

// yield lets the scheduler see the loop goroutine rescheduled every few
// milliseconds. A goroutine that never parks (this one only leaves Go for
// libcurl and select) is judged to hog its P after 10 ms: sysmon then takes
// the P away during the next C call and, having taken one, wakes every
// 20 us for the next millisecond or so, each wake a context switch on the
// core the server shares. A Gosched every 5 ms costs far less.
func (e *engine) yield() {
	if now := time.Now(); now.Sub(e.lastYield) >= 5*time.Millisecond {
		e.unpair(now, now.Sub(e.lastYield))
		e.lastYield = now
		runtime.Gosched()
	}
}

// A server on the same host (a local mirror or cache, a test server) and
// the loop can end up taking turns on one CPU while the others idle. A
// request the loop sends wakes the server with the kernel's "synchronous"
// hint, so the server is placed on the loop's CPU whenever its own is busy
// at that moment, and from then on both stay there: the server preempts
// the loop at every request and the loop waits. On 2 cores against nginx,
// 2,000 files of 8 KiB took 97-105 ms when the two ran apart and 109-151
// ms when they paired up (338-873 preemptions of the loop per run against
// 41-177), and they paired up in 10 runs of 16. So every few
// milliseconds the loop counts its preemptions, and when it was preempted
// at least pairRate times per millisecond (and pairMin times in all) it
// moves to another CPU: the server, woken from there, returns to its own.
// One move at most per pairCooldown, so a machine busy with other work
// does not make the loop wander.
const (
	pairMin      = 20
	pairRate     = 4
	pairCooldown = 50 * time.Millisecond
)

// pairing is the loop thread's preemption count at the last yield.
type pairing struct {
	n     int64 // -1: not counted yet
	moved time.Time
}

// unpair runs at each yield; window is the time since the last one.
func (e *engine) unpair(now time.Time, window time.Duration) {
	n := threadPreemptions()
	if n < 0 {
		return
	}
	p := &e.pair
	if p.n >= 0 && sharedCPU(n-p.n, window) && now.Sub(p.moved) >= pairCooldown {
		if moveCPU() >= 0 {
			p.moved = now
		}
	}
	p.n = n
}

// sharedCPU says whether d preemptions in window mean the loop shares its
// CPU with something that wakes as often as a server answering it.
func sharedCPU(d int64, window time.Duration) bool {
	return d >= pairMin && d*int64(time.Millisecond) >= pairRate*int64(window)
}

// idle blocks while nothing runs: until an entry arrives, a retry is due,
// a verification ends, or the context is cancelled.
func (e *engine) idle(ctx context.Context) {
	var in <-chan []Entry
	if !e.inDone && len(e.deferred) < e.deferLimit() && e.bi >= len(e.batch) {
		in = e.in
	}
	var timer <-chan time.Time
	next, ok := e.nextSegmentDue()
	if len(e.retries) > 0 && (!ok || e.retries[0].due.Before(next)) {
		next, ok = e.retries[0].due, true
	}
	if ok {
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		timer = t.C
	}
	select {
	case b, ok := <-in:
		if !ok {
			e.inDone = true
		} else {
			e.batch, e.bi = b, 0
		}
	case <-timer:
	case v := <-e.verified:
		e.finishVerify(v)
	case <-ctx.Done():
	}
}

// fill starts transfers while slots are free: first retries whose backoff
// is over, then entries that waited for a busy host, then new entries from
// the input, without blocking.
func (e *engine) fill(ctx context.Context) {
	now := time.Now()
	e.startDueSegments(now)
	for e.slots() < e.cfg.Parallel && e.stopReason == "" {
		if i := e.dueRetry(now); i >= 0 {
			j := e.retries[i]
			e.retries = append(e.retries[:i], e.retries[i+1:]...)
			e.attempt(j)
			continue
		}
		if i := e.startableDeferred(); i >= 0 {
			j := e.deferred[i]
			e.deferred = append(e.deferred[:i], e.deferred[i+1:]...)
			e.attempt(j)
			continue
		}
		if len(e.deferred) >= e.deferLimit() || ctx.Err() != nil {
			return
		}
		if e.bi < len(e.batch) {
			en := e.batch[e.bi]
			e.batch[e.bi] = Entry{} // the batch's array must not pin finished entries
			e.bi++
			e.admit(en)
			continue
		}
		if e.inDone {
			return
		}
		select {
		case b, ok := <-e.in:
			if !ok {
				e.inDone = true
				return
			}
			e.batch, e.bi = b, 0
		default:
			return
		}
	}
}

func (e *engine) dueRetry(now time.Time) int {
	for i, j := range e.retries {
		if j.due.After(now) {
			return -1 // sorted: none later is due either
		}
		if e.hostFree(j.host) {
			return i
		}
	}
	return -1
}

// deferLimit bounds the entries read ahead while waiting for their host
// (--per-host): enough to keep -j slots busy across many hosts, but never
// hundreds of thousands of entries in memory for a huge -j.
func (e *engine) deferLimit() int {
	return min(max(4*e.cfg.Parallel, 256), 16384)
}

func (e *engine) startableDeferred() int {
	for i, j := range e.deferred {
		if e.hostFree(j.host) {
			return i
		}
	}
	return -1
}

func (e *engine) hostFree(h string) bool {
	return e.cfg.PerHost <= 0 || e.perHost[h] < e.cfg.PerHost
}

// admit handles an entry fresh from the input: entries that need no
// transfer get their result at once, others start or wait for their host.
func (e *engine) admit(en Entry) {
	if en.Invalid != nil {
		e.result(Result{Source: en.Source, URL: en.AsWritten(), Status: StatusInvalid, Error: en.Invalid.Error()})
		return
	}
	if e.cfg.NoClobber {
		if _, err := os.Lstat(en.Path); err == nil {
			e.result(Result{Source: en.Source, URL: en.AsWritten(), Path: en.Path, Status: StatusSkipped,
				Error: "target exists (--no-clobber)"})
			return
		}
	}
	j := &job{entry: en, begin: time.Now()}
	if e.cfg.PerHost > 0 {
		j.host = hostKey(en.URL)
	}
	if e.cfg.Continue {
		e.loadResume(j)
	}
	if !e.hostFree(j.host) {
		e.deferred = append(e.deferred, j)
		return
	}
	e.attempt(j)
}

// slots counts what -j limits: entries being transferred. A split download
// is one entry however many ranges it runs.
func (e *engine) slots() int { return e.plain + len(e.splitJobs) }

// attempt starts one transfer of j (or, for a split download resumed from
// its .meta, all its unfinished ranges).
func (e *engine) attempt(j *job) {
	if j.reload {
		j.reload = false
		e.loadResume(j)
	}
	if j.segs != nil {
		e.startSplitJob(j)
		return
	}
	en := j.entry
	j.attempts++
	fail := func(err error) {
		j.part.release()
		r := e.baseResult(j)
		r.Status, r.Error = StatusFailed, err.Error()
		e.result(r)
	}
	_, err := e.startTransfer(j, nil, en.URL, isHTTP(en.URL), func(x cxfer) error {
		if j.offset > 0 {
			if err := x.resume(j.offset, -1, e.headers, j.validator); err != nil {
				return err
			}
		}
		// A compressed body has no byte ranges that map onto the saved file.
		if e.cfg.Split > 1 && !e.cfg.Compressed && j.offset == 0 && !j.noSplit && isHTTP(en.URL) {
			x.setSplitMin(max(e.cfg.MinSplitSize, 2*minSegment))
		}
		return nil
	})
	if err != nil {
		fail(err)
		return
	}
	e.perHost[j.host]++
	e.plain++
}

// wait sleeps until a socket is ready or libcurl's next timeout, at most
// maxWait, and no longer than the next retry's backoff. select(2) sees only
// descriptors below FD_SETSIZE, and curl_multi_fdset silently leaves out
// the others, so whenever libcurl holds such a socket the loop waits in
// curl_multi_poll instead.
func (e *engine) wait() {
	tmo := maxWait
	if ms, err := e.multi.Timeout(); err == nil && ms >= 0 && time.Duration(ms)*time.Millisecond < tmo {
		tmo = time.Duration(ms) * time.Millisecond
	}
	if len(e.retries) > 0 && e.slots() < e.cfg.Parallel {
		if d := time.Until(e.retries[0].due); d < tmo {
			tmo = max(d, 0)
		}
	}
	if tmo == 0 {
		return
	}
	if highSockets() > 0 {
		e.stats.PollWaits++
		_ = multiPoll(e.multiPtr(), e.pz.fd, int(tmo.Milliseconds()))
		return
	}
	var r, w, x syscall.FdSet
	maxfd, err := e.multi.Fdset(&r, &w, &x)
	if err != nil {
		return
	}
	e.stats.SelectWaits++
	if wfd := e.pz.fd; wfd >= 0 && wfd < syscall.FD_SETSIZE {
		// A paused transfer's writer wakes the loop through it.
		(*unix.FdSet)(unsafe.Pointer(&r)).Set(wfd)
		maxfd = max(maxfd, wfd)
	}
	if maxfd < 0 {
		// libcurl has nothing to wait on yet (resolving, backing off):
		// sleep until its timeout, as its documentation asks.
		time.Sleep(tmo)
		return
	}
	tv := unix.NsecToTimeval(tmo.Nanoseconds())
	// EINTR and friends just end the wait early; perform sorts it out.
	_, _ = unix.Select(maxfd+1, (*unix.FdSet)(unsafe.Pointer(&r)), (*unix.FdSet)(unsafe.Pointer(&w)),
		(*unix.FdSet)(unsafe.Pointer(&x)), &tv)
}

// drain handles every finished transfer. A handle that fails at once shows
// up here too, so none is lost.
func (e *engine) drain() {
	for {
		msg, _ := e.multi.Info_read()
		if msg == nil {
			return
		}
		if msg.Msg != curl.CURLMSG_DONE {
			continue
		}
		key := uintptr(msg.Easy_handle.GetHandle())
		t, ok := e.active[key]
		if !ok {
			continue
		}
		code := int(binary.NativeEndian.Uint32(msg.Data[:4]))
		e.complete(t, code)
	}
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
	j.due = time.Now().Add(e.backoff(j.attempts, retryAfter))
	i := sort.Search(len(e.retries), func(i int) bool { return e.retries[i].due.After(j.due) })
	e.retries = append(e.retries, nil)
	copy(e.retries[i+1:], e.retries[i:])
	e.retries[i] = j
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

// finishFile takes a complete NAME.part to its final name: after checking
// its checksums (off the loop's goroutine), under the server's name when
// --content-disposition gave one.
func (e *engine) finishFile(j *job, cdName string) {
	target := j.entry.Path
	if cdName != "" {
		p := filepath.Join(filepath.Dir(target), cdName)
		if p != target {
			if e.cfg.Claim != nil {
				if err := e.cfg.Claim(p, j.entry.Source); err != nil {
					j.last.Error = fmt.Sprintf("server's file name: %v", err)
					e.dropTmp(j)
					e.discardPart(j)
					e.fail(j)
					return
				}
			}
			target = p
		}
	}
	if len(j.entry.Checksums) > 0 {
		e.verifying++
		go verify(j, target, e.verified)
		return
	}
	e.commitJob(j, target, nil)
}

func (e *engine) collectVerified(block bool) {
	for e.verifying > 0 {
		if block {
			e.finishVerify(<-e.verified)
			return
		}
		select {
		case v := <-e.verified:
			e.finishVerify(v)
		default:
			return
		}
	}
}

func (e *engine) finishVerify(v verifyResult) {
	e.verifying--
	if v.err != nil {
		v.job.last.Error = v.err.Error()
		e.discardPart(v.job)
		e.fail(v.job)
		return
	}
	e.commitJob(v.job, v.target, v.sums)
}

// linkWait is an entry whose unnamed file the linker is naming.
type linkWait struct {
	j      *job
	target string
	sums   map[string]string
}

// dropTmp closes an unnamed file that will not be linked, or frees a body
// that will not be written: its bytes go.
func (e *engine) dropTmp(j *job) {
	if j.hasBody {
		freeBody(j.body, j.bodyLen)
		j.hasBody = false
	}
	if j.hasTmp {
		_ = unix.Close(j.tmpfd)
		j.hasTmp = false
	}
}

// collectLinks reports the entries whose files the linker has named; with
// block it waits for at least one.
func (e *engine) collectLinks(block bool) {
	if len(e.linking) == 0 {
		return
	}
	e.linkBuf = linkCollect(e.linkBuf[:0], block)
	for _, l := range e.linkBuf {
		w := e.linking[l.id]
		delete(e.linking, l.id)
		var err error
		switch {
		case l.err == 0:
		case fdShortage(l.err) && w.j.fdWaits < maxFDWaits && e.stopReason == "":
			// Out of descriptors for the file: fetch it again after a
			// backoff, not spent from --retry.
			w.j.fdWaits++
			w.j.last.Error = (&DiskError{Op: l.op, Path: w.target, Err: l.err}).Error()
			e.scheduleRetry(w.j, 0)
			continue
		case l.err == unix.EWOULDBLOCK:
			err = &BusyError{Path: w.target + PartSuffix}
		case l.err == unix.EEXIST && e.cfg.NoClobber:
			err = errExists
		default:
			err = &DiskError{Op: l.op, Path: w.target, Err: l.err}
		}
		e.committed(w.j, w.target, w.sums, err)
	}
}

func (e *engine) commitJob(j *job, target string, sums map[string]string) {
	if j.hasTmp || j.hasBody {
		e.linkID++
		var queued bool
		if j.hasBody {
			queued = linkSubmitBody(j.body, j.bodyLen, target, e.cfg.NoClobber, e.linkID)
		} else {
			queued = linkSubmit(j.tmpfd, target, e.cfg.NoClobber, e.linkID)
		}
		if queued {
			j.hasTmp, j.hasBody = false, false
			if e.linking == nil {
				e.linking = make(map[int64]linkWait)
			}
			e.linking[e.linkID] = linkWait{j, target, sums}
			return
		}
		e.dropTmp(j)
		e.committed(j, target, sums, &DiskError{Op: "link to", Path: target, Err: unix.ENOMEM})
		return
	}
	// NAME.part is this process's to rename (it holds it, or takes it now:
	// a resume that found the file complete never opened it). Its .meta
	// goes first, while the file is still held.
	part := j.entry.Path + PartSuffix
	if err := j.part.take(part); err != nil {
		var busy *BusyError
		if !errors.As(err, &busy) {
			err = &DiskError{Op: "rename to", Path: target, Err: err}
		}
		e.committed(j, target, sums, err)
		return
	}
	e.removeMeta(j)
	e.committed(j, target, sums, e.commit(part, target))
}

// committed reports an entry whose file was (err == nil) or could not be
// given its final name.
func (e *engine) committed(j *job, target string, sums map[string]string, err error) {
	r := e.baseResult(j)
	r.Path = target
	r.Verified = sums
	if err != nil {
		r.Error = err.Error()
		r.Status = StatusFailed
		if errors.Is(err, errExists) {
			r.Status = StatusSkipped
		}
		e.discardPart(j)
	} else {
		r.Status = StatusOK
		r.Error = ""
	}
	j.part.release()
	e.result(r)
}

func (e *engine) discardPart(j *job) { e.dropPart(j) }

// dropPart removes NAME.part and, when there may be one, its .meta (first),
// unless another process holds NAME.part: then both are its own.
func (e *engine) dropPart(j *job) {
	j.part.remove(j.entry.Path+PartSuffix, j.metaSet || j.partSeen)
	j.metaSet = false
}

var errExists = errors.New("target exists (--no-clobber)")

// maxFDWaits bounds the attempts an entry may spend waiting for
// descriptors outside its --retry budget.
const maxFDWaits = 100

// commit moves NAME.part over NAME in one rename, so NAME never holds a
// partial file. With --no-clobber the rename must not replace anything.
func (e *engine) commit(part, path string) error {
	if e.cfg.NoClobber {
		err := renameAt(part, path, true)
		if err == nil {
			return nil
		}
		if errors.Is(err, unix.EEXIST) {
			return errExists
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			return &DiskError{Op: "rename to", Path: path, Err: err}
		}
		// The filesystem cannot refuse to replace: check, then rename.
		if _, err := os.Lstat(path); err == nil {
			return errExists
		}
	}
	if err := renameAt(part, path, false); err != nil {
		return &DiskError{Op: "rename to", Path: path, Err: err}
	}
	return nil
}

func curlMessage(x cxfer, code int) string {
	// libcurl's error buffer says more than curl_easy_strerror (host, port,
	// timings); fall back to the generic text when it is empty.
	msg := strings.TrimSpace(x.errbuf())
	if msg == "" {
		msg = curlStrerror(code)
	}
	return fmt.Sprintf("%s (curl %d)", msg, code)
}

func httpError(code int) string {
	if code == 0 {
		return "no HTTP response"
	}
	if code >= 300 && code <= 399 {
		return fmt.Sprintf("HTTP %d %s without a usable Location", code, http.StatusText(code))
	}
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("HTTP %d %s", code, text)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// removeTransfer takes a transfer out of the multi handle and frees it.
// Ranges of a split download count neither as -j slots nor per host: the
// entry does, through e.splitJobs.
func (e *engine) removeTransfer(t *transfer) {
	_ = e.multi.RemoveHandle(t.easy)
	delete(e.active, uintptr(t.easy.GetHandle()))
	if t.seg == nil {
		e.plain--
		e.releaseHost(t.job.host)
	}
	t.x.free()
	e.parkEasy(t.easy)
}

// newTransfer readies an easy handle for url, writing to path+".part": a
// handle kept from a finished transfer when there is one (reuse spares
// libcurl's per-handle allocations, its receive buffer among them), else a
// duplicate of the template.
func (e *engine) newTransfer(url, path string, part *partHold, checkHTTP, pipeWait, h1 bool) (*curl.CURL, cxfer, error) {
	var easy *curl.CURL
	if n := len(e.pool); n > 0 {
		easy, e.pool = e.pool[n-1], e.pool[:n-1]
	} else if easy = e.tmpl.Duphandle(); easy == nil || easy.GetHandle() == nil {
		return nil, cxfer{}, errors.New("libcurl: cannot create an easy handle")
	} else if err := e.tls.attach(easy.GetHandle()); err != nil {
		easy.Cleanup()
		return nil, cxfer{}, fmt.Errorf("libcurl: sharing TLS sessions: %w", err)
	} else if err := e.capDuplicate(easy); err != nil {
		easy.Cleanup()
		return nil, cxfer{}, err
	}
	if err := prepareEasy(easy.GetHandle(), url, e.headers, pipeWait, h1); err != nil {
		e.parkEasy(easy)
		return nil, cxfer{}, fmt.Errorf("libcurl rejected the URL: %w", err)
	}
	// Best effort: libcurl 7.88 answers CURLE_BAD_FUNCTION_ARGUMENT on a
	// handle reused from the pool (measured); it keeps the size it had,
	// which costs memory only, never a byte.
	_ = easy.Setopt(curl.OPT_BUFFERSIZE, e.recvBuffer(len(e.active)))
	x, err := newCXfer(easy.GetHandle(), path+PartSuffix, checkHTTP, e.pauserFor(), part.ptr())
	if err != nil {
		e.parkEasy(easy)
		return nil, cxfer{}, err
	}
	return easy, x, nil
}

// startTransfer readies a handle for url, lets setup adjust the transfer,
// adds it to the multi handle and registers it; seg is its range for a
// split download, nil otherwise.
func (e *engine) startTransfer(j *job, seg *segment, url string, checkHTTP bool, setup func(cxfer) error) (*transfer, error) {
	// https: wait for a connection being set up to the host rather than
	// open (and TLS-handshake) another, and share it when it turns out to
	// speak HTTP/2 (ALPN settles that at the handshake). Measured, 2000 x
	// 8 KiB over h2 at -j 16: median of 7 runs 0.174 s without, 0.147 s
	// with. Not for http://, where a stalled HTTP/1.1 response would hold
	// back every transfer waiting to learn whether its connection
	// multiplexes; not for the ranges of a split download, which are there
	// to get connections of their own. For that, ranges also speak
	// HTTP/1.1: over HTTP/2, libcurl would put them all on the one
	// connection to the host as streams, and a server that limits each
	// connection would then serve the whole file at one connection's rate.
	pipeWait := seg == nil && hasPrefixFold(url, "https://")
	easy, x, err := e.newTransfer(url, j.entry.Path, &j.part, checkHTTP, pipeWait, seg != nil)
	if err != nil {
		return nil, err
	}
	// A whole small body may be written unnamed (see "Small files" in
	// xfer.c): not a range, not the rest of a kept prefix, not one whose
	// checksums are read back from NAME.part, not an encoded one (its
	// Content-Length says nothing of the size on disk).
	if seg == nil && j.offset == 0 && len(j.entry.Checksums) == 0 && !e.cfg.Compressed {
		x.allowTmp()
	}
	if err = setup(x); err == nil {
		if err = e.multi.AddHandle(easy); err != nil {
			err = fmt.Errorf("libcurl: %w", err)
		}
	}
	if err != nil {
		x.free()
		e.parkEasy(easy)
		return nil, err
	}
	now := time.Now()
	t := &transfer{job: j, easy: easy, x: x, start: now, seenAt: now, seg: seg}
	e.active[uintptr(easy.GetHandle())] = t
	e.started++
	return t, nil
}

// parkEasy keeps a handle for the next transfer, up to what can run at
// once; the rest are freed.
func (e *engine) parkEasy(easy *curl.CURL) {
	if len(e.pool) < e.cfg.Parallel*max(e.cfg.Split, 1) {
		parkEasy(easy.GetHandle())
		e.pool = append(e.pool, easy)
		return
	}
	easy.Cleanup()
}

func (e *engine) releaseHost(h string) {
	if e.perHost[h]--; e.perHost[h] <= 0 {
		delete(e.perHost, h)
	}
}

func (e *engine) stop(reason string) {
	if e.stopReason == "" {
		e.stopReason = reason
	}
}

// abortAll ends every running transfer and every waiting retry: each is
// reported failed with the reason the run stopped, and keeps its NAME.part
// (with what a resume needs) so that -c can continue it. Entries taken
// from the input but not started (waiting for their host, or still in the
// batch) are reported "not started": every entry taken gets its result.
func (e *engine) abortAll() {
	for j := range e.splitJobs {
		e.abortSplit(j)
	}
	for _, t := range e.active {
		j := t.job
		got := t.x.bytes()
		j.received += got
		kept := false
		if t.x.state() == stateWriting && !t.x.tmpfile() && t.x.keep() {
			if t.x.restarted() {
				j.offset = got
			} else {
				j.offset += got
			}
			if v := responseValidator(t.easy.GetHandle()); v != j.validator {
				j.validator, j.metaSet = v, false
			}
			kept = true
		}
		if !kept && j.offset == 0 {
			t.x.discard()
			e.dropPart(j)
		}
		e.removeTransfer(t)
		e.abortJob(j)
	}
	for _, j := range e.retries {
		e.abortJob(j)
	}
	e.retries = nil
	for _, j := range e.deferred {
		e.result(NotStarted(j.entry, e.stopReason))
	}
	e.deferred = nil
	for ; e.bi < len(e.batch); e.bi++ {
		e.result(NotStarted(e.batch[e.bi], e.stopReason))
		e.batch[e.bi] = Entry{}
	}
}

func (e *engine) abortJob(j *job) {
	if j.offset > 0 {
		e.writeMeta(j)
	}
	j.part.release()
	r := e.baseResult(j)
	r.Status = StatusFailed
	r.CurlCode = 0
	r.Error = "aborted: " + e.stopReason
	if j.offset > 0 {
		r.Error += fmt.Sprintf(" (%d bytes kept in %s for -c)", j.offset, j.entry.Path+PartSuffix)
	}
	e.result(r)
}

func (e *engine) result(r Result) {
	switch r.Status {
	case StatusOK:
		e.stats.OK++
	case StatusSkipped:
		e.stats.Skipped++
	case StatusInvalid:
		e.stats.Invalid++
	default:
		e.stats.Failed++
	}
	e.stats.Bytes += r.Bytes
	e.doneBytes += r.Bytes
	e.obs.Result(r)
	if e.cfg.FailFast && (r.Status == StatusFailed || r.Status == StatusInvalid) && e.stopReason == "" {
		e.stop("--fail-fast after " + r.Source + " failed")
		e.stats.FailFast = true
	}
	e.maybeProgress(true)
}

func (e *engine) progress() Progress {
	b := e.doneBytes
	for _, t := range e.active {
		b += t.job.received + t.x.bytes()
	}
	for _, j := range e.retries {
		b += j.received
	}
	return Progress{Done: e.stats.Done(), Active: len(e.active), Bytes: b}
}

// maybeProgress reports at most every 50 ms; observers draw from it.
func (e *engine) maybeProgress(force bool) {
	now := time.Now()
	if !force && now.Sub(e.lastProg) < 50*time.Millisecond {
		return
	}
	if force && now.Sub(e.lastProg) < 10*time.Millisecond {
		return
	}
	e.lastProg = now
	e.obs.Progress(e.progress())
}

func isHTTP(raw string) bool {
	return hasPrefixFold(raw, "http://") || hasPrefixFold(raw, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hostKey groups transfers for --per-host: scheme, host and port.
func hostKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "ftp": "21", "ftps": "990"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// checkStalls ends transfers that have received nothing for StallTimeout;
// they are then retried like any timeout.
func (e *engine) checkStalls() {
	if e.cfg.StallTimeout <= 0 {
		return
	}
	now := time.Now()
	var stalled []*transfer
	for _, t := range e.active {
		if b := t.x.bytes(); b != t.seenBytes || t.x.paused() {
			// Paused: waiting for our own writes, not for the server.
			t.seenBytes, t.seenAt = b, now
			continue
		}
		if now.Sub(t.seenAt) >= e.cfg.StallTimeout {
			stalled = append(stalled, t)
		}
	}
	for _, t := range stalled {
		t.stalled = true
		e.complete(t, 28)
	}
}

// bufferSize is libcurl's receive buffer. Large buffers mean few, large
// recv(2) calls on fast transfers (measured: 4 x 256 MiB on loopback took
// 1.10 s at the 16 KiB default, 0.70 s at 512 KiB). But libcurl checks a
// speed cap only between read passes of up to 100 buffers, so with a cap a
// large buffer would let megabytes through unchecked: then it stays small.
func (e *engine) bufferSize() int {
	if e.cfg.LimitRate > 0 || e.cfg.TotalRate > 0 {
		return 16 << 10
	}
	return 512 << 10
}

// recvBuffer is the receive buffer of a transfer starting while running
// others run. libcurl allocates it per running transfer and fills as much
// of it as each read brings, so thousands of transfers (a huge -j) held
// hundreds of megabytes in these buffers alone. Beyond the first
// fullBuffers transfers running, new ones get libcurl's default: together
// they hold at most fullBuffers x 512 KiB + 16 KiB per running transfer.
func (e *engine) recvBuffer(running int) int {
	if running >= fullBuffers {
		return 16 << 10
	}
	return e.bufferSize()
}

// pauserFor is the pauser of a new transfer. Under a speed cap there is
// none: such a transfer waits for a free write buffer instead of pausing.
// From libcurl 8.18 on, resuming a paused transfer starts its speed limit
// afresh, with a second's worth of bytes to read at once and any excess
// already read forgiven (curl's lib/ratelimit.c, Curl_rlimit_block). A
// capped transfer took that second's worth at once, found its buffers all
// with the writer, paused, and so on: 32 MiB at a 4 MiB/s cap came in
// 5.2 s instead of 8. A transfer under a cap rarely outruns its writer, so
// the wait is short; and it is the same on every libcurl.
func (e *engine) pauserFor() pauser {
	if e.cfg.LimitRate > 0 || e.cfg.TotalRate > 0 {
		return pauser{fd: -1}
	}
	return e.pz
}

// fullBuffers: more transfers than this at once gain nothing from large
// receive buffers (they share the same links and cores).
const fullBuffers = 128
