// Package engine downloads entries through one libcurl multi handle.
//
// One goroutine owns the multi handle and every easy handle in it. The loop
// follows libcurl's multi interface: add transfers while slots are free,
// wait (fdset/select, or curl_multi_poll when a socket is beyond select's
// reach), perform, drain info_read, turn each finished transfer into exactly
// one Result. Bodies are written by C code straight into NAME.part files
// that are renamed to NAME only on success. The engine never prints: it
// reports through an Observer.
package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
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
	Headers        []string      // "Name: value"
	UserAgent      string
	Insecure       bool
	CACert         string
	Proxy          string
	Protocols      []string // allowed for list URLs, lowercase
	MaxRedirs      int
}

// Stats sums up a run.
type Stats struct {
	OK, Failed, Skipped, Invalid int
	Bytes                        int64
	Interrupted                  bool // the context was cancelled
	FailFast                     bool // stopped by the first failure
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

// PartSuffix marks a file still being written.
const PartSuffix = ".part"

// maxWait bounds every sleep of the loop so that cancellation and newly read
// entries are noticed promptly even when libcurl has no timer due.
const maxWait = 100 * time.Millisecond

type transfer struct {
	entry Entry
	easy  *curl.CURL
	x     cxfer
	host  string
	start time.Time
}

type engine struct {
	cfg     Config
	obs     Observer
	multi   *curl.CURLM
	tmpl    *curl.CURL
	headers slist

	active   map[uintptr]*transfer
	perHost  map[string]int
	deferred []Entry // entries waiting for their host to have a free slot
	in       <-chan Entry
	inDone   bool

	stats      Stats
	doneBytes  int64
	stopReason string
	lastProg   time.Time
}

// Run downloads every entry received from in until it is closed, the
// context is cancelled, or (with FailFast) an entry fails. Each entry taken
// from in gets exactly one Result through obs.
func Run(ctx context.Context, cfg Config, in <-chan Entry, obs Observer) (Stats, error) {
	if cfg.Parallel < 1 {
		cfg.Parallel = 1
	}
	e := &engine{
		cfg:     cfg,
		obs:     obs,
		in:      in,
		active:  make(map[uintptr]*transfer),
		perHost: make(map[string]int),
	}
	if err := e.init(); err != nil {
		return Stats{}, err
	}
	defer e.close()
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
	return e.configureTemplate()
}

func (e *engine) close() {
	for _, t := range e.active {
		e.drop(t)
	}
	if e.tmpl != nil {
		e.tmpl.Cleanup()
	}
	if e.multi != nil {
		e.multi.Cleanup()
	}
	e.headers.free()
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
	set := []struct {
		opt int
		val interface{}
	}{
		{curl.OPT_NOSIGNAL, 1},
		{curl.OPT_FOLLOWLOCATION, redir != ""},
		{curl.OPT_MAXREDIRS, c.MaxRedirs},
		{optProtocolsStr, strings.Join(c.Protocols, ",")},
		{curl.OPT_FAILONERROR, 0},
	}
	if redir != "" {
		set = append(set, struct {
			opt int
			val interface{}
		}{optRedirProtocolsStr, redir})
	}
	for _, s := range set {
		if err := h.Setopt(s.opt, s.val); err != nil {
			return fmt.Errorf("libcurl option %d: %w", s.opt, err)
		}
	}
	if c.ConnectTimeout > 0 {
		if err := h.Setopt(optConnectTimeoutMS, int(c.ConnectTimeout.Milliseconds())); err != nil {
			return err
		}
	}
	if c.MaxTime > 0 {
		if err := h.Setopt(optTimeoutMS, int(c.MaxTime.Milliseconds())); err != nil {
			return err
		}
	}
	if c.UserAgent != "" {
		if err := h.Setopt(curl.OPT_USERAGENT, c.UserAgent); err != nil {
			return err
		}
	}
	if c.Insecure {
		if err := h.Setopt(curl.OPT_SSL_VERIFYPEER, 0); err != nil {
			return err
		}
		if err := h.Setopt(curl.OPT_SSL_VERIFYHOST, 0); err != nil {
			return err
		}
	}
	if c.CACert != "" {
		if err := h.Setopt(curl.OPT_CAINFO, c.CACert); err != nil {
			return err
		}
	}
	if c.Proxy != "" {
		if err := h.Setopt(curl.OPT_PROXY, c.Proxy); err != nil {
			return err
		}
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
			e.stop("interrupted")
			e.stats.Interrupted = true
		}
		if e.stopReason != "" {
			e.abortAll()
			return
		}
		e.fill(ctx)
		if e.stopReason != "" {
			continue
		}
		if len(e.active) == 0 {
			if e.inDone && len(e.deferred) == 0 {
				return
			}
			// Nothing running: block until an entry arrives.
			select {
			case en, ok := <-e.in:
				if !ok {
					e.inDone = true
				} else {
					e.admit(en)
				}
			case <-ctx.Done():
			}
			continue
		}
		e.wait()
		if _, err := e.multi.Perform(); err != nil {
			// A multi-level error leaves no transfer trustworthy.
			e.stop("libcurl: " + err.Error())
			continue
		}
		e.drain()
		e.maybeProgress(false)
	}
}

// fill starts transfers while slots are free, taking first from entries
// that waited for a busy host, then from the input without blocking.
func (e *engine) fill(ctx context.Context) {
	for len(e.active) < e.cfg.Parallel && e.stopReason == "" {
		if i := e.startableDeferred(); i >= 0 {
			en := e.deferred[i]
			e.deferred = append(e.deferred[:i], e.deferred[i+1:]...)
			e.start(en)
			continue
		}
		if e.inDone || len(e.deferred) >= e.deferLimit() || ctx.Err() != nil {
			return
		}
		select {
		case en, ok := <-e.in:
			if !ok {
				e.inDone = true
				return
			}
			e.admit(en)
		default:
			return
		}
	}
}

func (e *engine) deferLimit() int {
	if n := 4 * e.cfg.Parallel; n > 256 {
		return n
	}
	return 256
}

func (e *engine) startableDeferred() int {
	for i, en := range e.deferred {
		if e.hostFree(hostKey(en.URL)) {
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
		e.result(Result{Source: en.Source, URL: en.URL, Status: StatusInvalid, Error: en.Invalid.Error()})
		return
	}
	if e.cfg.PerHost > 0 && !e.hostFree(hostKey(en.URL)) {
		e.deferred = append(e.deferred, en)
		return
	}
	e.start(en)
}

func (e *engine) start(en Entry) {
	if e.cfg.NoClobber {
		if _, err := os.Lstat(en.Path); err == nil {
			e.result(Result{Source: en.Source, URL: en.URL, Path: en.Path, Status: StatusSkipped,
				Error: "target exists (--no-clobber)"})
			return
		}
	}
	begin := time.Now()
	fail := func(err error) {
		e.result(Result{Source: en.Source, URL: en.URL, Path: en.Path, Status: StatusFailed,
			Error: err.Error(), Duration: time.Since(begin)})
	}
	easy := e.tmpl.Duphandle()
	if easy == nil || easy.GetHandle() == nil {
		fail(errors.New("libcurl: cannot create an easy handle"))
		return
	}
	if err := easy.Setopt(curl.OPT_URL, en.URL); err != nil {
		easy.Cleanup()
		fail(fmt.Errorf("libcurl rejected the URL: %w", err))
		return
	}
	x, err := newCXfer(easy.GetHandle(), en.Path+PartSuffix, isHTTP(en.URL))
	if err != nil {
		easy.Cleanup()
		fail(err)
		return
	}
	if err := e.multi.AddHandle(easy); err != nil {
		x.free()
		easy.Cleanup()
		fail(fmt.Errorf("libcurl: %w", err))
		return
	}
	t := &transfer{entry: en, easy: easy, x: x, host: hostKey(en.URL), start: begin}
	e.active[uintptr(easy.GetHandle())] = t
	e.perHost[t.host]++
}

// wait sleeps until a socket is ready or libcurl's next timeout, at most
// maxWait. select(2) sees only descriptors below FD_SETSIZE, and
// curl_multi_fdset silently leaves out the others, so whenever libcurl
// holds such a socket the loop waits in curl_multi_poll instead.
func (e *engine) wait() {
	tmo := maxWait
	if ms, err := e.multi.Timeout(); err == nil && ms >= 0 && time.Duration(ms)*time.Millisecond < tmo {
		tmo = time.Duration(ms) * time.Millisecond
	}
	if tmo == 0 {
		return
	}
	if highSockets() > 0 {
		e.stats.PollWaits++
		_ = multiPoll(e.multiPtr(), int(tmo.Milliseconds()))
		return
	}
	var r, w, x syscall.FdSet
	maxfd, err := e.multi.Fdset(&r, &w, &x)
	if err != nil {
		return
	}
	e.stats.SelectWaits++
	tv := unix.NsecToTimeval(tmo.Nanoseconds())
	if maxfd < 0 {
		// libcurl has nothing to wait on yet (resolving, backing off):
		// sleep until its timeout, as its documentation asks.
		time.Sleep(tmo)
		return
	}
	// EINTR and friends just end the wait early; perform sorts it out.
	_, _ = unix.Select(maxfd+1, (*unix.FdSet)(unsafe.Pointer(&r)), (*unix.FdSet)(unsafe.Pointer(&w)),
		(*unix.FdSet)(unsafe.Pointer(&x)), &tv)
}

// drain turns every finished transfer into a result. A handle that fails at
// once shows up here too, so none is lost.
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

func (e *engine) complete(t *transfer, code int) {
	en := t.entry
	res := Result{Source: en.Source, URL: en.URL, Path: en.Path, CurlCode: code}
	if v, err := t.easy.Getinfo(curl.INFO_RESPONSE_CODE); err == nil {
		res.HTTPCode, _ = v.(int)
	}
	if v, err := t.easy.Getinfo(curl.INFO_EFFECTIVE_URL); err == nil {
		res.EffectiveURL, _ = v.(string)
	}
	httpOK := !isHTTP(en.URL) || (res.HTTPCode >= 200 && res.HTTPCode <= 299)
	switch {
	case t.x.state() == stateRejected || (code == 0 && !httpOK):
		res.CurlCode = 0 // the abort was ours: the HTTP status is the reason
		res.Error = httpError(res.HTTPCode)
	case t.x.state() == stateIOErr:
		res.Error = t.x.ioError().Error()
	case code != 0:
		res.Error = e.curlMessage(t, code)
	default:
		if !t.x.finish() {
			res.Error = t.x.ioError().Error()
		} else if err := e.commit(en.Path); err != nil {
			res.Error = err.Error()
			if errors.Is(err, errExists) {
				res.Status = StatusSkipped
			}
		}
	}
	res.Bytes = t.x.bytes()
	res.Duration = time.Since(t.start)
	if res.Error == "" {
		res.Status = StatusOK
	} else {
		if res.Status == "" {
			res.Status = StatusFailed
		}
		t.x.discard()
	}
	e.doneBytes += res.Bytes
	e.remove(t)
	e.result(res)
}

var errExists = errors.New("target appeared during the transfer (--no-clobber)")

// commit moves NAME.part over NAME in one rename, so NAME never holds a
// partial file. With --no-clobber the rename must not replace anything.
func (e *engine) commit(path string) error {
	part := path + PartSuffix
	if e.cfg.NoClobber {
		err := unix.Renameat2(unix.AT_FDCWD, part, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		if err == nil {
			return nil
		}
		if errors.Is(err, unix.EEXIST) {
			_ = os.Remove(part)
			return errExists
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			return &DiskError{Op: "rename to", Path: path, Err: err}
		}
		// The filesystem cannot refuse to replace: check, then rename.
		if _, err := os.Lstat(path); err == nil {
			_ = os.Remove(part)
			return errExists
		}
	}
	if err := os.Rename(part, path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return &DiskError{Op: "rename to", Path: path, Err: err}
	}
	return nil
}

func (e *engine) curlMessage(t *transfer, code int) string {
	// libcurl's error buffer says more than curl_easy_strerror (host, port,
	// timings); fall back to the generic text when it is empty.
	msg := strings.TrimSpace(t.x.errbuf())
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

// remove takes a transfer out of the multi handle and frees it.
func (e *engine) remove(t *transfer) {
	_ = e.multi.RemoveHandle(t.easy)
	delete(e.active, uintptr(t.easy.GetHandle()))
	if e.perHost[t.host]--; e.perHost[t.host] <= 0 {
		delete(e.perHost, t.host)
	}
	t.x.free()
	t.easy.Cleanup()
}

// drop abandons a running transfer without a result (used on close only
// after abortAll has reported every one).
func (e *engine) drop(t *transfer) {
	t.x.discard()
	e.remove(t)
}

func (e *engine) stop(reason string) {
	if e.stopReason == "" {
		e.stopReason = reason
	}
}

// abortAll ends every running transfer: its .part is removed and it is
// reported failed with the reason the run stopped.
func (e *engine) abortAll() {
	for _, t := range e.active {
		res := Result{Source: t.entry.Source, URL: t.entry.URL, Path: t.entry.Path, Status: StatusFailed,
			Error: "aborted: " + e.stopReason, Bytes: t.x.bytes(), Duration: time.Since(t.start)}
		t.x.discard()
		e.doneBytes += res.Bytes
		e.remove(t)
		e.result(res)
	}
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
		b += t.x.bytes()
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
	l := strings.ToLower(raw)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
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
