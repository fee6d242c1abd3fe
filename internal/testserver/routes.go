package testserver

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// call is one request being handled.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	name string
	hit  int // 1-based hit number of name, including this request
}

// route dispatches on the first path segment. Arguments are positional so
// a test can build any scenario from the URL alone, with no set-up calls.
func (c *call) route() {
	segs := strings.Split(strings.TrimPrefix(c.r.URL.Path, "/"), "/")
	if c.name == "" {
		c.bad("empty NAME")
		return
	}
	kind := segs[0]
	args := segs[1 : len(segs)-1]
	q := c.r.URL.Query()

	// want parses exactly n non-negative integer arguments.
	want := func(n int) ([]int, bool) {
		if len(args) != n {
			c.bad(fmt.Sprintf("%s wants %d arguments before NAME, got %d", kind, n, len(args)))
			return nil, false
		}
		v := make([]int, n)
		for i, a := range args {
			x, err := strconv.Atoi(a)
			if err != nil || x < 0 {
				c.bad(fmt.Sprintf("argument %q is not a non-negative integer", a))
				return nil, false
			}
			v[i] = x
		}
		return v, true
	}

	// wantBPS is want for routes whose first argument is a rate, which
	// must be positive.
	wantBPS := func(n int) ([]int, bool) {
		v, ok := want(n)
		if ok && v[0] == 0 {
			c.bad("BPS must be positive")
			return nil, false
		}
		return v, ok
	}

	switch kind {
	case "ok":
		if a, ok := want(1); ok {
			c.serve(c.entity(a[0], 0), plain)
		}
	case "status":
		if a, ok := want(3); ok {
			code, k, size := a[0], a[1], a[2]
			if code < 200 || code > 599 {
				c.bad("CODE must be 200..599")
				return
			}
			if c.hit <= k {
				c.fail(code, nil)
				return
			}
			c.serve(c.entity(size, 0), plain)
		}
	case "retry-after", "retry-after-date":
		if a, ok := want(3); ok {
			secs, k, size := a[0], a[1], a[2]
			if c.hit <= k {
				v := strconv.Itoa(secs)
				if kind == "retry-after-date" {
					v = retryDate(time.Now(), secs)
				}
				c.fail(http.StatusTooManyRequests, http.Header{"Retry-After": {v}})
				return
			}
			c.serve(c.entity(size, 0), plain)
		}
	case "rst", "short", "chunked-trunc", "stall":
		if a, ok := want(3); ok {
			at, k, size := a[0], a[1], a[2]
			e := c.entity(size, 0)
			mode := plain
			if kind == "chunked-trunc" {
				mode = chunked
			}
			if c.hit > k {
				c.serve(e, mode)
				return
			}
			switch kind {
			case "rst":
				c.cut(e, int64(at), cutRST)
			case "short":
				c.cut(e, int64(at), cutFIN)
			case "chunked-trunc":
				c.cut(e, int64(at), cutChunked)
			case "stall":
				c.stall(e, int64(at))
			}
		}
	case "loop":
		if _, ok := want(0); ok {
			c.redirect(http.StatusFound, "http://"+c.r.Host+c.r.URL.RequestURI()) // Host, not s.URL: set after Start, read here unlocked
		}
	case "redirect-file":
		if _, ok := want(0); ok {
			c.redirect(http.StatusFound, "file:///etc/passwd")
		}
	case "redirect":
		if _, ok := want(0); ok {
			to := q.Get("to")
			if to == "" {
				c.bad("redirect wants ?to=URL")
				return
			}
			code := http.StatusFound
			if cs := q.Get("code"); cs != "" {
				n, err := strconv.Atoi(cs)
				if err != nil || n < 300 || n > 399 {
					c.bad("code must be 300..399")
					return
				}
				code = n
			}
			c.redirect(code, to)
		}
	case "cd", "cd5987":
		if _, ok := want(0); ok {
			if !q.Has("filename") {
				c.bad(kind + " wants ?filename=VALUE")
				return
			}
			v := q.Get("filename")
			var cd string
			if kind == "cd" {
				cd = `attachment; filename="` + v + `"`
			} else {
				cd = "attachment; "
				if q.Has("fallback") {
					cd += `filename="` + q.Get("fallback") + `"; `
				}
				cd += "filename*=UTF-8''" + rfc5987(v)
			}
			e := c.entity(100, 0)
			e.extra = http.Header{"Content-Disposition": {cd}}
			if q.Get("raw") == "1" {
				c.rawResponse(e)
				return
			}
			c.serve(e, plain)
		}
	case "auth":
		if len(args) != 2 {
			c.bad("auth wants /auth/TOKEN/SIZE/NAME")
			return
		}
		size, err := strconv.Atoi(args[1])
		if err != nil || size < 0 {
			c.bad("SIZE must be a non-negative integer")
			return
		}
		if c.r.Header.Get("Authorization") != "Bearer "+args[0] {
			c.fail(http.StatusUnauthorized, http.Header{"Www-Authenticate": {"Bearer"}})
			return
		}
		c.serve(c.entity(size, 0), plain)
	case "norange":
		if a, ok := want(1); ok {
			c.serve(c.entity(a[0], 0), noRange)
		}
	case "changing":
		if a, ok := want(1); ok {
			c.serve(c.entity(a[0], c.hit), plain)
		}
	case "changing-rst":
		if a, ok := want(2); ok {
			at, size := a[0], a[1]
			e := c.entity(size, c.hit)
			if c.hit == 1 {
				c.cut(e, int64(at), cutRST)
				return
			}
			c.serve(e, plain)
		}
	case "throttle":
		if a, ok := wantBPS(2); ok {
			bps, size := a[0], a[1]
			e := c.entity(size, 0)
			e.bps = bps
			c.serve(e, plain)
		}
	case "changing-throttle":
		// /changing-throttle/BPS/SIZE/NAME: /changing/ at BPS per connection.
		if a, ok := want(2); ok {
			e := c.entity(a[1], c.hit)
			e.bps = a[0]
			c.serve(e, plain)
		}
	case "ranges-ignored":
		// /ranges-ignored/BPS/CUT/AT/SIZE/NAME: every request answered 200
		// with the whole file at BPS, Accept-Ranges notwithstanding; the
		// CUT-th request without a Range header (0: none) ends after AT
		// bytes with a clean FIN.
		if a, ok := wantBPS(4); ok {
			e := c.entity(a[3], 0)
			e.bps = a[0]
			if c.r.Header.Get("Range") == "" && a[1] > 0 && c.s.plainHits(c.name) == a[1] {
				c.cutMode(e, int64(a[2]), cutFIN, ignored)
				return
			}
			c.serve(e, ignored)
		}
	case "changing-after-probe":
		// /changing-after-probe/K/BPS/SIZE/NAME: /changing-throttle/ whose
		// version changes after each request without a Range header (a
		// split download's probe), up to version K.
		if a, ok := want(3); ok {
			p := c.s.plainHits(c.name)
			v := 2*p - 1
			if c.r.Header.Get("Range") != "" {
				v = 2 * p
			}
			e := c.entity(a[2], min(v, a[0]))
			e.bps = a[1]
			c.serve(e, plain)
		}
	case "throttle-cut":
		// /throttle-cut/BPS/AT/HIT/SIZE/NAME: like /throttle/, except that
		// request number HIT of NAME is reset after AT bytes — with split
		// downloads, HIT 2 is the first range after the probe.
		if a, ok := wantBPS(4); ok {
			bps, at, hit, size := a[0], a[1], a[2], a[3]
			e := c.entity(size, 0)
			if c.hit == hit {
				c.cut(e, int64(at), cutRST)
				return
			}
			e.bps = bps
			c.serve(e, plain)
		}
	case "throttle-hit":
		// /throttle-hit/BPS/HIT/SIZE/NAME: request number HIT of NAME at
		// BPS, every other one at full speed — with split downloads, HIT 1
		// is the probe.
		if a, ok := wantBPS(3); ok {
			bps, hit, size := a[0], a[1], a[2]
			e := c.entity(size, 0)
			if c.hit == hit {
				e.bps = bps
			}
			c.serve(e, plain)
		}
	case "echo":
		if _, ok := want(0); ok {
			c.echo()
		}
	default:
		c.bad("unknown route " + strconv.Quote(kind))
	}
}

// retryDate is the HTTP-date at least secs seconds after now. Rounding up
// matters: HTTP-dates have whole-second resolution, and rounding down could
// tell a client to wait less than the test asked for.
func retryDate(now time.Time, secs int) string {
	t := now.Add(time.Duration(secs) * time.Second)
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.UTC().Format(http.TimeFormat)
}

// rfc5987 percent-encodes v as an RFC 5987 ext-value body: attr-chars stay,
// every other byte becomes %XX.
func rfc5987(v string) string {
	const attr = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte(attr, ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

// bad answers a request the server cannot interpret. 400 keeps it apart from
// the codes /status/ injects on purpose.
func (c *call) bad(why string) {
	c.text(http.StatusBadRequest, nil, "testserver: bad request: "+why+"\n")
}

// fail sends an injected error status with a short body.
func (c *call) fail(code int, h http.Header) {
	c.text(code, h, fmt.Sprintf("testserver: injected %d %s for %s (hit %d)\n",
		code, http.StatusText(code), c.name, c.hit))
}

func (c *call) redirect(code int, to string) {
	// Set directly rather than via http.Redirect, which would rewrite
	// relative or odd targets; tests want the Location verbatim.
	c.text(code, http.Header{"Location": {to}}, "testserver: redirect to "+to+"\n")
}

func (c *call) text(code int, h http.Header, body string) {
	hdr := c.w.Header()
	for k, v := range h {
		hdr[k] = v
	}
	if code == http.StatusNoContent || code == http.StatusNotModified {
		c.w.WriteHeader(code)
		return
	}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(code)
	if c.r.Method != http.MethodHead {
		c.w.Write([]byte(body))
	}
}

func (c *call) echo() {
	lines := []string{"Host: " + c.r.Host}
	for k, vs := range c.r.Header {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	c.text(http.StatusOK, nil, strings.Join(lines, "\n")+"\n")
}
