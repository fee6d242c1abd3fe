// Package testserver is a fault-injecting HTTP/1.1 server on loopback for
// multiget's tests. It exists so engine tests and end-to-end tests of the
// built binary can prove that retries, resumes, redirect policy, filename
// handling and integrity checks hold up against a hostile server, without
// the network and without flakiness: every fault is keyed to a per-name
// request counter, so "fail K times, then succeed" is deterministic as long
// as each test uses its own NAME (the last path segment).
//
// Every data route serves Content(NAME, SIZE) (or ContentVersion for the
// changing routes), so tests can compare downloaded files byte for byte.
// The routes are documented on New.
package testserver

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// RequestInfo records one request, so tests can assert resume and
// credential behaviour (what Range was asked for, whether a token or cookie
// leaked across a redirect, and so on).
type RequestInfo struct {
	Hit           int    // 1-based request number for this NAME
	Method        string // GET, HEAD, ...
	Path          string // decoded URL path
	RawQuery      string
	Range         string // Range header, "" if absent
	IfRange       string // If-Range header
	Authorization string // Authorization header
	Cookie        string // Cookie header(s), joined with "; "
	Header        http.Header
}

// Server is a running test server. URL is its base URL, for example
// "http://127.0.0.1:34567", without a trailing slash.
type Server struct {
	URL string

	ts *httptest.Server

	mu          sync.Mutex
	hits        map[string]int
	reqs        map[string][]RequestInfo
	inflight    int
	maxInflight int
	closed      bool
	conns       map[net.Conn]struct{} // hijacked connections, closed by Close
	wg          sync.WaitGroup        // running handlers, including hijacked ones

	release     chan struct{}
	releaseOnce sync.Once
	done        chan struct{}
	closeOnce   sync.Once
}

// New starts a server on 127.0.0.1 (plain HTTP/1.1, keep-alive enabled).
// Paths are ROUTE/ARGS.../NAME; SIZE, K, AT, SECS, BPS and CODE are decimal
// integers. Unless a route says otherwise, a data response is
//
//	200 (or 206 for a satisfiable single "Range: bytes=..." request)
//	Content-Type: application/octet-stream
//	Content-Length: length of the body sent
//	Accept-Ranges: bytes
//	ETag: ETag(NAME, SIZE, 0)            (strong)
//	Last-Modified: LastModified(0)
//	Content-Range: bytes START-END/SIZE  (206 only)
//
// with body Content(NAME, SIZE)[START:END+1]. Range forms honoured:
// "bytes=N-", "bytes=N-M" (M clamped to SIZE-1) and "bytes=-S" (last S
// bytes). A Range with several ranges, another unit or bad syntax is
// ignored (full 200). A start at or past SIZE (or a zero suffix) gets 416
// with "Content-Range: bytes */SIZE" and an empty body. If-Range is only
// looked at with a Range: when it equals the current ETag or the exact
// Last-Modified string the range is served, otherwise the full body comes
// back as 200. HEAD gets the same headers without a body. Every request,
// HEAD included and on any route, counts as one hit for its NAME, and a
// route's "first K requests" are hits 1..K of that NAME.
//
// Routes:
//
//	/ok/SIZE/NAME                  the file.
//	/status/CODE/K/SIZE/NAME       hits 1..K: CODE (200..599) with a short
//	                               text/plain body; then the file.
//	/retry-after/SECS/K/SIZE/NAME  hits 1..K: 429 with "Retry-After: SECS";
//	                               then the file.
//	/retry-after-date/SECS/K/SIZE/NAME
//	                               as above, Retry-After is an HTTP-date at
//	                               least SECS seconds ahead (rounded up to
//	                               the next whole second).
//	/rst/AT/K/SIZE/NAME            hits 1..K: the normal headers (range
//	                               honoured, Content-Length of the whole
//	                               response), the first AT body bytes from
//	                               the range start, then, once the peer has
//	                               acknowledged them, SO_LINGER 0 + close,
//	                               i.e. a TCP RST; then the file.
//	/short/AT/K/SIZE/NAME          hits 1..K: as /rst/ but a clean FIN
//	                               instead of the RST; then the file.
//	/chunked-trunc/AT/K/SIZE/NAME  hits 1..K: chunked encoding (no
//	                               Content-Length), AT body bytes, then a
//	                               FIN without the terminating chunk; then
//	                               the file, still chunked.
//	/stall/AT/K/SIZE/NAME          hits 1..K: normal headers, AT body bytes,
//	                               then nothing until the client goes away,
//	                               Release or Close; then the connection is
//	                               closed with the body short. Then the file.
//	/loop/NAME                     302 to its own absolute URL, forever.
//	/redirect-file/NAME            302 to file:///etc/passwd.
//	/redirect/NAME?to=URL[&code=C] C (default 302) to URL verbatim.
//	/cd/NAME?filename=V[&raw=1]    Content(NAME, 100) with
//	                               Content-Disposition: attachment; filename="V"
//	/cd5987/NAME?filename=V[&fallback=F][&raw=1]
//	                               Content(NAME, 100) with
//	                               Content-Disposition: attachment; [filename="F"; ]filename*=UTF-8''%-encoded-V
//	/auth/TOKEN/SIZE/NAME          401 with "WWW-Authenticate: Bearer" unless
//	                               "Authorization: Bearer TOKEN"; then the file.
//	/norange/SIZE/NAME             always 200 and the whole file, Range and
//	                               If-Range ignored, no Accept-Ranges header.
//	/changing/SIZE/NAME            version v = this hit's number: body
//	                               ContentVersion(NAME, SIZE, v), ETag(NAME,
//	                               SIZE, v), LastModified(v).
//	/changing-rst/AT/SIZE/NAME     as /changing/, but hit 1 is cut like
//	                               /rst/ after AT bytes.
//	/changing-throttle/BPS/SIZE/NAME
//	                               /changing/ at about BPS bytes/s.
//	/ranges-ignored/BPS/CUT/AT/SIZE/NAME
//	                               every request 200 and the whole file at
//	                               about BPS bytes/s, though Accept-Ranges
//	                               says bytes; request CUT without a Range
//	                               header (0: none) gets AT bytes, then a
//	                               clean FIN.
//	/changing-after-probe/K/BPS/SIZE/NAME
//	                               as /changing-throttle/, but with P the
//	                               requests so far without a Range header
//	                               (this one included), version 2P-1
//	                               without Range, 2P with, never above K.
//	/throttle/BPS/SIZE/NAME        the file at about BPS bytes/s.
//	/throttle-hit/BPS/HIT/SIZE/NAME
//	                               hit HIT at about BPS bytes/s, the others
//	                               at full speed.
//	/echo/NAME                     200 text/plain, one "Key: value" line per
//	                               request header value, sorted, Host included.
//
// Query values are URL-decoded by the server, so tests should escape them
// (url.QueryEscape). For /cd/ and /cd5987/ net/http turns CR and LF in the
// header value into spaces and trims surrounding blanks; other bytes are
// sent as they are. With raw=1 the response is written by hand on the
// hijacked connection (then closed), so the value goes out byte for byte,
// CR and LF included.
//
// Malformed or unknown paths get 400 with a body starting "testserver:".
func New() *Server {
	s := &Server{
		hits:    make(map[string]int),
		reqs:    make(map[string][]RequestInfo),
		conns:   make(map[net.Conn]struct{}),
		release: make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Handlers log nothing of interest; keep test output clean of the
	// "broken pipe" chatter that fault routes provoke on purpose.
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.ts.Start()
	s.URL = s.ts.URL
	return s
}

// Close ends every wait (as Release does, and also /throttle/), resets
// hijacked connections and shuts the server down. It waits for all handlers
// to return and is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.Release()
		close(s.done)
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.ts.CloseClientConnections()
		s.ts.Close()
		s.wg.Wait()
	})
}

// Release ends every current and future /stall/ wait. It is sticky: stalls
// that start afterwards send their AT bytes and close at once.
func (s *Server) Release() {
	s.releaseOnce.Do(func() { close(s.release) })
}

// URLFor joins route (with or without its leading slash) to the base URL.
func (s *Server) URLFor(route string) string {
	if !strings.HasPrefix(route, "/") {
		route = "/" + route
	}
	return s.URL + route
}

// plainHits counts the requests for name without a Range header so far.
func (s *Server) plainHits(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs[name] {
		if r.Range == "" {
			n++
		}
	}
	return n
}

// Hits returns how many requests have arrived for NAME, on any route.
func (s *Server) Hits(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[name]
}

// Requests returns a copy of the requests received for NAME, in arrival
// order.
func (s *Server) Requests(name string) []RequestInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestInfo(nil), s.reqs[name]...)
}

// MaxInflight returns the largest number of requests that were being
// handled at the same time since the server started, for asserting a
// connection limit.
func (s *Server) MaxInflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInflight
}

// inflightNow is for this package's tests: it shows that handlers end when
// their client goes away.
func (s *Server) inflightNow() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

func lastSegment(p string) string {
	return p[strings.LastIndex(p, "/")+1:]
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name := lastSegment(r.URL.Path)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "testserver: closed", http.StatusServiceUnavailable)
		return
	}
	s.hits[name]++
	hit := s.hits[name]
	s.reqs[name] = append(s.reqs[name], RequestInfo{
		Hit:           hit,
		Method:        r.Method,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		Range:         r.Header.Get("Range"),
		IfRange:       r.Header.Get("If-Range"),
		Authorization: r.Header.Get("Authorization"),
		Cookie:        strings.Join(r.Header.Values("Cookie"), "; "),
		Header:        r.Header.Clone(),
	})
	s.inflight++
	if s.inflight > s.maxInflight {
		s.maxInflight = s.inflight
	}
	// Added under the lock that Close takes before Wait, so no Add can
	// race with the final Wait.
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
		s.wg.Done()
	}()
	c := &call{s: s, w: w, r: r, name: name, hit: hit}
	c.route()
}

// track registers a hijacked connection so Close can cut it; the returned
// func forgets and closes it.
func (s *Server) track(conn net.Conn) (untrack func()) {
	s.mu.Lock()
	if s.closed {
		conn.Close()
	}
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
	}
}
