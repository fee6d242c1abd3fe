package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// entity is one version of one file as the server presents it.
type entity struct {
	seed     uint64
	size     int64
	etag     string
	modified string      // Last-Modified as sent, also the If-Range date form
	extra    http.Header // route-specific headers (Content-Disposition)
	bps      int         // >0: throttle to about bps bytes/s
}

func (c *call) entity(size, v int) entity {
	return entity{
		seed:     seedFor(versionName(c.name, v)),
		size:     int64(size),
		etag:     ETag(c.name, size, v),
		modified: LastModified(v).Format(http.TimeFormat),
	}
}

type mode int

const (
	plain   mode = iota // Content-Length, ranges honoured
	chunked             // chunked encoding, ranges honoured
	noRange             // Content-Length, ranges ignored, no Accept-Ranges
	ignored             // Content-Length, ranges ignored though Accept-Ranges says bytes
)

// plan decides the status and the byte span [start, end) to send. It is
// deliberately a small hand-written subset of RFC 9110 so the exact
// behaviour is documented on New and does not shift with net/http's
// ServeContent.
func (e entity) plan(r *http.Request, m mode) (status int, start, end int64) {
	full := func() (int, int64, int64) { return http.StatusOK, 0, e.size }
	rng := r.Header.Get("Range")
	if m == noRange || m == ignored || rng == "" {
		return full()
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != e.etag && ir != e.modified {
		return full()
	}
	spec, ok := strings.CutPrefix(rng, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return full()
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return full()
	}
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return full()
		}
		if n == 0 || e.size == 0 {
			return http.StatusRequestedRangeNotSatisfiable, 0, 0
		}
		return http.StatusPartialContent, max(e.size-n, 0), e.size
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return full()
	}
	end = e.size
	if last != "" {
		l, err := strconv.ParseInt(last, 10, 64)
		if err != nil || l < start {
			return full()
		}
		end = min(l+1, e.size)
	}
	if start >= e.size {
		return http.StatusRequestedRangeNotSatisfiable, 0, 0
	}
	return http.StatusPartialContent, start, end
}

// header fills h for a response of status covering [start, end).
func (e entity) header(h http.Header, status int, start, end int64, m mode) {
	for k, v := range e.extra {
		h[k] = v
	}
	if status == http.StatusRequestedRangeNotSatisfiable {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", e.size))
		h.Set("Content-Length", "0")
		return
	}
	h.Set("Content-Type", "application/octet-stream")
	if m != noRange {
		h.Set("Accept-Ranges", "bytes")
	}
	h.Set("Etag", e.etag)
	h.Set("Last-Modified", e.modified)
	if status == http.StatusPartialContent {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, e.size))
	}
	if m != chunked {
		h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	}
}

// serve answers normally through net/http.
func (c *call) serve(e entity, m mode) {
	status, start, end := e.plan(c.r, m)
	e.header(c.w.Header(), status, start, end, m)
	c.w.WriteHeader(status)
	if m == chunked {
		// With no Content-Length, flushing before the body makes net/http
		// commit to chunked encoding even for small bodies.
		flush(c.w)
	}
	if c.r.Method == http.MethodHead || status == http.StatusRequestedRangeNotSatisfiable {
		return
	}
	c.stream(c.w, func() { flush(c.w) }, e, start, end)
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

var errGone = errors.New("testserver: request ended")

// wait sleeps for d, returning early with errGone when the client has gone
// or the server is closing, so that no test can hang on the server.
func (c *call) wait(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.r.Context().Done():
	case <-c.s.done:
	}
	return errGone
}

// stream writes content bytes [start, end) of e to w, paced when e.bps is
// set.
func (c *call) stream(w io.Writer, flushFn func(), e entity, start, end int64) error {
	piece := 32 << 10
	if e.bps > 0 {
		// About 20 writes a second: smooth enough for rate tests, few
		// enough that timer granularity does not distort the rate.
		piece = min(max(e.bps/20, 1), piece)
	}
	buf := make([]byte, piece)
	began := time.Now()
	for off := start; off < end; {
		n := int(min(int64(piece), end-off))
		fill(e.seed, off, buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		off += int64(n)
		if e.bps <= 0 {
			select {
			case <-c.r.Context().Done():
				return errGone
			case <-c.s.done:
				return errGone
			default:
			}
			continue
		}
		flushFn()
		due := began.Add(time.Duration(float64(off-start) / float64(e.bps) * float64(time.Second)))
		if err := c.wait(time.Until(due)); err != nil {
			return err
		}
	}
	return nil
}

// stall sends the headers and at bytes, then holds the request open until
// the client leaves, Release or Close. Returning leaves the body short of
// its Content-Length, and net/http then closes the connection rather than
// reuse it.
func (c *call) stall(e entity, at int64) {
	status, start, end := e.plan(c.r, plain)
	e.header(c.w.Header(), status, start, end, plain)
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead && status != http.StatusRequestedRangeNotSatisfiable {
		if c.stream(c.w, func() {}, e, start, min(start+at, end)) != nil {
			return
		}
	}
	flush(c.w)
	select {
	case <-c.r.Context().Done():
	case <-c.s.release:
	case <-c.s.done:
	}
}

type cutKind int

const (
	cutRST     cutKind = iota // SO_LINGER 0 then close: the peer sees ECONNRESET
	cutFIN                    // orderly close: the peer sees a short body
	cutChunked                // chunked body without its last chunk, then FIN
)

// cut sends a response that breaks after at body bytes. It writes on the
// hijacked connection because net/http would neither reset a connection
// nor end a chunked body early.
func (c *call) cut(e entity, at int64, kind cutKind) {
	m := plain
	if kind == cutChunked {
		m = chunked
	}
	c.cutMode(e, at, kind, m)
}

// cutMode is cut for a response of mode m.
func (c *call) cutMode(e entity, at int64, kind cutKind, m mode) {
	status, start, end := e.plan(c.r, m)
	if status == http.StatusRequestedRangeNotSatisfiable {
		c.serve(e, m) // nothing to cut
		return
	}
	h := make(http.Header)
	e.header(h, status, start, end, m)
	if kind == cutChunked {
		h.Set("Transfer-Encoding", "chunked")
	}
	conn, bw, ok := c.hijack()
	if !ok {
		return
	}
	defer c.s.track(conn)()
	writeHead(bw, status, h)
	if c.r.Method != http.MethodHead {
		stop := min(start+at, end)
		var w io.Writer = bw
		if kind == cutChunked {
			w = chunkWriter{bw}
		}
		if c.stream(w, func() {}, e, start, stop) != nil {
			return
		}
	}
	if bw.Flush() != nil {
		return
	}
	tc, _ := conn.(*net.TCPConn)
	if tc == nil {
		return
	}
	if kind == cutRST {
		// SO_LINGER 0 discards whatever is still queued, so wait until the
		// peer has acknowledged the AT bytes; otherwise it would receive
		// fewer than the test asked for, and resume offsets would vary.
		c.waitAcked(tc)
		tc.SetLinger(0)
		return // the deferred close sends the RST
	}
	// Half-close first, then drain: closing with unread input pending
	// would make the kernel send a RST instead of the intended FIN.
	tc.CloseWrite()
	tc.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(io.Discard, tc)
}

// waitAcked polls until the kernel's send queue for tc is empty, for at
// most 5s, or until the server closes.
func (c *call) waitAcked(tc *net.TCPConn) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unacked(tc)
		if err != nil || n == 0 {
			return
		}
		select {
		case <-c.s.done:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// rawResponse writes e as a complete response on the hijacked connection,
// so header values reach the client byte for byte (net/http would replace
// CR and LF), then closes the connection.
func (c *call) rawResponse(e entity) {
	status, start, end := e.plan(c.r, plain)
	h := make(http.Header)
	e.header(h, status, start, end, plain)
	h.Set("Connection", "close")
	conn, bw, ok := c.hijack()
	if !ok {
		return
	}
	defer c.s.track(conn)()
	writeHead(bw, status, h)
	if c.r.Method != http.MethodHead && status != http.StatusRequestedRangeNotSatisfiable {
		if c.stream(bw, func() {}, e, start, end) != nil {
			return
		}
	}
	if bw.Flush() == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.CloseWrite()
			tc.SetReadDeadline(time.Now().Add(2 * time.Second))
			io.Copy(io.Discard, tc)
		}
	}
}

func (c *call) hijack() (net.Conn, *bufio.Writer, bool) {
	hj, ok := c.w.(http.Hijacker)
	if !ok {
		http.Error(c.w, "testserver: cannot hijack", http.StatusInternalServerError)
		return nil, nil, false
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, false
	}
	return conn, rw.Writer, true
}

// writeHead writes a status line and h verbatim, keys sorted.
func writeHead(w *bufio.Writer, status int, h http.Header) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	w.WriteString("\r\n")
}

// chunkWriter frames each Write as one HTTP/1.1 chunk and never writes the
// terminating zero chunk: that omission is the fault.
type chunkWriter struct{ w *bufio.Writer }

func (cw chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	fmt.Fprintf(cw.w, "%x\r\n", len(p))
	cw.w.Write(p)
	if _, err := cw.w.WriteString("\r\n"); err != nil {
		return 0, err
	}
	return len(p), nil
}
