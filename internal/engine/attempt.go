package engine

// Attempts: the template handle and its options, easy handles from the
// pool, and every request an attempt sends (whole file or range), set up
// in Go: URL, header list, Range and If-Range (through cxfer.resume).

import (
	"errors"
	"fmt"
	"strings"
	"time"

	curl "github.com/andelf/go-curl"
)

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

// removeTransfer takes a transfer out of the multi handle and frees it.
// Ranges of a split download count for their host but not as -j slots:
// the entry does, through sched.splits.
func (e *engine) removeTransfer(t *transfer) {
	_ = e.multi.RemoveHandle(t.easy)
	delete(e.active, uintptr(t.easy.GetHandle()))
	if t.seg == nil {
		e.plain--
	}
	e.sch.forget(t.host, t.ticket)
	if t.opens {
		e.sch.mux.opened(t.host, false, t.probe) // it ended before it was given a connection
	}
	e.sch.release(t.host, t.stream)
	e.forgetConn(t)
	t.x.free()
	e.parkEasy(t.easy)
}

// newTransfer readies an easy handle for url, writing to path+".part": a
// handle kept from a finished transfer when there is one (reuse spares
// libcurl's per-handle set-up; not its receive buffer, which libcurl 7.88
// frees at the end of every transfer on a connection no other transfer
// uses, lib/multi.c multi_done), else a duplicate of the template; buf is
// the receive buffer it asks for.
func (e *engine) newTransfer(url string, buf int, hdrs slist, path string, part *partHold, checkHTTP, pipeWait, h1 bool) (*curl.CURL, cxfer, error) {
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
	if err := prepareEasy(easy.GetHandle(), url, hdrs, pipeWait, h1); err != nil {
		e.parkEasy(easy)
		return nil, cxfer{}, fmt.Errorf("libcurl rejected the URL: %w", err)
	}
	// Best effort: libcurl before 8.7 answers CURLE_BAD_FUNCTION_ARGUMENT
	// on a handle that still holds its buffer, one whose last transfer
	// ended on a connection other transfers were using (HTTP/2; lib/setopt.c,
	// multi_done); it keeps the size it had, which costs memory or reads,
	// never a byte.
	heardBuffer(url, buf)
	_ = easy.Setopt(curl.OPT_BUFFERSIZE, buf)
	x, err := newCXfer(easy.GetHandle(), path+PartSuffix, checkHTTP, part.ptr())
	if err != nil {
		e.parkEasy(easy)
		return nil, cxfer{}, err
	}
	return easy, x, nil
}

// startTransfer readies a handle for url, lets setup adjust the transfer,
// adds it to the multi handle and registers it, counted for host; seg is
// its range for a split download, nil otherwise.
func (e *engine) startTransfer(j *job, seg *segment, url, host string, checkHTTP bool, setup func(cxfer) error) (*transfer, error) {
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
	// Ranges speak HTTP/1.1 (see above): never streams. A stream that
	// opens a connection holds back its host's next ones until it has it
	// (mux.go, ramp); it must not wait for one being opened.
	stream := seg == nil && e.sch.mux.known[host]
	var opens, probe bool
	if stream {
		opens, probe = e.sch.mux.opens(host)
	}
	buf := e.bufs.size(host, seg != nil || stream, e.recvBuffer(len(e.active), seg == nil && e.cfg.Split < 2))
	easy, x, err := e.newTransfer(url, buf, e.headersFor(j, url), j.entry.Path, &j.part, checkHTTP, pipeWait && !opens, seg != nil)
	if err != nil {
		return nil, err
	}
	if err := e.credentials(easy, j, url); err != nil {
		x.free()
		e.parkEasy(easy)
		return nil, err
	}
	// A whole small body may be written unnamed (see "Small files" in
	// linker.c): not a range, not the rest of a kept prefix, not one whose
	// checksums are read back from NAME.part, not an encoded one (its
	// Content-Length says nothing of the size on disk).
	if seg == nil && j.offset == 0 && len(j.entry.Checksums) == 0 && !e.cfg.Compressed {
		x.allowTmp()
	}
	if pipeWait && e.watching(host) {
		x.watchConn() // conns.go
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
	t := &transfer{job: j, easy: easy, x: x, start: now, seenAt: now, seg: seg, url: url, host: host, stream: stream, opens: opens, probe: probe}
	e.active[uintptr(easy.GetHandle())] = t
	t.ticket = e.sch.take(host, stream)
	if stream {
		e.sch.mux.streamStarted(host)
	}
	if t.opens {
		e.sch.mux.startOpening(host, probe)
		x.watchConn()
	}
	return t, nil
}

// attempt starts one transfer of j (or, for a split download resumed from
// its .meta, all its unfinished ranges).
func (e *engine) attempt(j *job) {
	j.tries.rounds++
	if j.resume.reload {
		j.resume.reload = false
		e.loadResume(j)
	}
	if j.segs != nil {
		e.startSplitJob(j)
		return
	}
	j.tries.attempts++
	u := j.url()
	j.noteTried(u)
	hdrs := e.headersFor(j, u)
	_, err := e.startTransfer(j, nil, u, j.host, isHTTP(u), func(x cxfer) error {
		if j.offset > 0 {
			if err := x.resume(j.offset, -1, hdrs, j.validator); err != nil {
				return err
			}
		}
		if j.whole > 0 {
			if err := x.resume(j.whole, -1, hdrs, ""); err != nil {
				return err
			}
			x.setProbe()
		}
		if j.cond != "" {
			if err := x.addHeader(hdrs, j.cond); err != nil {
				return err
			}
		}
		// A compressed body has no byte ranges that map onto the saved file.
		if e.cfg.Split > 1 && !e.cfg.Compressed && j.offset == 0 && j.splitting == splitMaybe && isHTTP(u) {
			x.setSplitMin(max(e.cfg.MinSplitSize, 2*minSegment))
		}
		return nil
	})
	if err != nil {
		j.last.Error = err.Error()
		e.fail(j)
		return
	}
	e.plain++
	e.setState(j, stRunning)
}

// startSegment starts the transfer of range s of j, asking for exactly
// what is left of it with If-Range; when the range's host has no room it
// waits (sched.startRanges starts it later). A split that failed while its
// ranges were being started (the entry has its result) starts no more.
func (e *engine) startSegment(j *job, s *segment) {
	url, host := j.segmentURL(s)
	if j.state != stSplit || !e.sch.hostFree(host) {
		return
	}
	s.attempts++
	j.tries.attempts++
	hdrs := e.headersFor(j, url)
	validator := j.validator
	if s.mirror > 0 {
		// Another server's version names differ: the checksum, not
		// If-Range, proves its bytes (mirrors.go).
		validator = ""
	}
	t, err := e.startTransfer(j, s, url, host, true, func(x cxfer) error {
		x.setSegment()
		// With a validator (every split download has one, save a range
		// spread to a mirror) this sets the request's headers to hdrs and
		// If-Range.
		return x.resume(s.start+s.done, s.end, hdrs, validator)
	})
	if err != nil {
		e.failSplit(j, err, true)
		return
	}
	s.t = t
}

// headersFor is the header list for a request of j to url. Headers given
// for the entry's host (Authorization and Cookie with -H) never go to
// another scheme://host:port: libcurl drops them when the entry's first
// request is redirected to another host, and the ranges, retries and
// resumes sent straight to where it led must too. (Credentials in the
// entry's URL are no part of a URL on another host.)
func (e *engine) headersFor(j *job, url string) slist {
	if hostKey(url) != j.origin {
		return e.foreign
	}
	return e.headers
}

// withoutCredentials is headers without Authorization and Cookie, the
// ones libcurl keeps to the first host of a transfer.
func withoutCredentials(headers []string) []string {
	var out []string
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Cookie") {
			continue
		}
		out = append(out, h)
	}
	return out
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

func isHTTP(raw string) bool {
	return hasPrefixFold(raw, "http://") || hasPrefixFold(raw, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
