package engine

// HTTP/2 streams: what -j and --per-host count on a host known to
// multiplex. Over HTTP/1.1 a transfer is a connection; over HTTP/2 (or 3)
// libcurl runs up to CURLMOPT_MAX_CONCURRENT_STREAMS transfers on one
// connection (and opens another when the server allows fewer), so there a
// slot stands for a connection: --streams transfers.

import curl "github.com/andelf/go-curl"

type multiplexing struct {
	per     int             // --streams, or defaultStreams to start from when probing
	probe   bool            // no --streams: each host's cap grows to what its server allows (conns.go)
	known   map[string]bool // hosts known to multiplex
	streams map[string]int  // running transfers counted as streams, per host
	caps    map[string]*streamCap
	slots   int // connections the streams stand for, all hosts
	running int // running transfers counted as streams, all hosts
	open    int // hosts whose last connection has room for a stream

	// oneConn: at most one connection per multiplexing host. Before
	// libcurl 8.0 (its change "CURLOPT_PIPEWAIT: allow waited reuse also
	// for subsequent connections", curl issue 10456), a transfer finding
	// every connection to the host at CURLMOPT_MAX_CONCURRENT_STREAMS opens
	// a connection of its own even with CURLOPT_PIPEWAIT, rather than wait
	// for the one another transfer is opening (measured on 7.88: 10 streams
	// at --streams 5 took 6 connections, on 8.21 two). There a host whose
	// connections are full opens one more at a time (ramp): one stream
	// starts, and no other to that host until libcurl has given it its
	// connection (conns.go), which the streams after it then share.
	// Without CURLOPT_PREREQFUNCTION (before 7.80) nothing says when, and a
	// host's streams stay within one connection's cap.
	oneConn bool
	ramp    bool
	// opening: hosts with a stream waiting for the connection it opens
	// (ramp), each with the connections its other streams stand for.
	opening map[string]int
}

// streamCap is what one multiplexing host's connections were seen to take
// (conns.go): per streams each; proven were running at once on a
// connection libcurl reused; fixed once a stream past proven needed a
// new connection, or with --streams.
type streamCap struct {
	per, proven int
	fixed       bool
}

// newMultiplexing: per is --streams, 0 when not given (then each host
// starts at defaultStreams and, with probe, grows to its server's limit).
func newMultiplexing(per int, probe bool) multiplexing {
	m := multiplexing{per: per, known: make(map[string]bool), streams: make(map[string]int),
		caps: make(map[string]*streamCap), oneConn: Lib().Num < 0x080000, opening: make(map[string]int)}
	m.ramp = m.oneConn && Lib().Num >= 0x075000
	if per < 1 {
		m.per, m.probe = defaultStreams, probe
	}
	return m
}

// learn records that h multiplexes: its next transfers are streams
// (learnMux turns those already running there into streams too).
func (m *multiplexing) learn(h string) {
	m.known[h] = true
	m.caps[h] = &streamCap{per: m.per, fixed: !m.probe}
}

// perConn is how many streams one connection to h carries.
func (m *multiplexing) perConn(h string) int {
	if c := m.caps[h]; c != nil {
		return c.per
	}
	return m.per
}

// connsOf is the connections the streams to h stand for: ceil(n/per), and
// while one is being opened (ramp), those before it and it.
func (m *multiplexing) connsOf(h string) int {
	p := m.perConn(h)
	c := (m.streams[h] + p - 1) / p
	if e, ok := m.opening[h]; ok {
		c = max(c, e+1)
	}
	return c
}

// hasRoom says whether a connection h's streams stand for has room for one
// more: while one is being opened, one of those before it.
func (m *multiplexing) hasRoom(h string) bool {
	n, p := m.streams[h], m.perConn(h)
	if e, ok := m.opening[h]; ok {
		return n-1 < e*p
	}
	return n%p != 0
}

// openRoom says whether a stream to h fits on a connection its running
// streams already stand for.
func (m *multiplexing) openRoom(h string) bool {
	if m.oneConn && !m.ramp {
		return m.streams[h] > 0 && m.streams[h] < m.perConn(h)
	}
	return m.hasRoom(h)
}

// newConnOK says whether a stream to h may open a connection of its own:
// where libcurl cannot wait for a second one being opened (oneConn), only
// while none is (ramp), or, without ramp, only as the host's first.
func (m *multiplexing) newConnOK(h string) bool {
	if !m.oneConn || !m.known[h] || m.streams[h] == 0 {
		return true
	}
	_, busy := m.opening[h]
	return m.ramp && !busy
}

// opens says whether the next stream to h, with ramp, opens a connection:
// the host's streams fill the connections they stand for. (Its count can
// be off when libcurl has other connections to h, from the transfers that
// ran before h was known to multiplex: the stream is then given one with
// room, and the ramp goes on at once.)
func (m *multiplexing) opens(h string) bool {
	if _, busy := m.opening[h]; busy {
		return false // the room it started in is on a connection before it
	}
	n := m.streams[h]
	return m.ramp && m.known[h] && n > 0 && n%m.perConn(h) == 0
}

// startOpening notes that the stream just counted for h opens a connection
// (opens said so before it was counted); opened, that it has one, or
// ended without.
func (m *multiplexing) startOpening(h string) {
	m.count(h, -1)
	m.opening[h] = (m.streams[h] - 1) / m.perConn(h)
	m.count(h, 1)
}

func (m *multiplexing) opened(h string) {
	if _, ok := m.opening[h]; ok {
		m.count(h, -1)
		delete(m.opening, h)
		m.count(h, 1)
	}
}

// take counts a stream starting on h.
func (m *multiplexing) take(h string) {
	m.count(h, -1)
	m.streams[h]++
	m.running++
	m.count(h, 1)
}

func (m *multiplexing) release(h string) {
	m.count(h, -1)
	m.running--
	if m.streams[h]--; m.streams[h] <= 0 {
		delete(m.streams, h)
	}
	m.count(h, 1)
}

// count adds (sign 1) or takes back (-1) what h's streams add to slots and
// open, so that a change of them or of h's cap keeps both exact.
func (m *multiplexing) count(h string, sign int) {
	m.slots += sign * m.connsOf(h)
	if m.hasRoom(h) {
		m.open += sign
	}
}

// probing says whether what libcurl does with h's next stream can still
// teach h's cap: a stream sharing a connection that the cap could grow
// from, or one given a new connection.
func (m *multiplexing) probing(h string, fresh bool) bool {
	c := m.caps[h]
	return c != nil && !c.fixed && (fresh || c.per < MaxStreams)
}

// given notes what libcurl gave a stream to h: a connection in use, which
// then carried at least inUse streams with it (the server allows that
// many), or a fresh one while another of h's connections carried other
// streams, which says that one was full: h's server allows no more than
// it carried, and the cap stays at what was seen. A cap that the server
// was seen to fill grows by one, up to MaxStreams.
func (m *multiplexing) given(h string, inUse int, fresh bool, other int) {
	c := m.caps[h]
	if c == nil || c.fixed {
		return
	}
	if fresh {
		if other > 0 {
			m.setCap(h, max(c.proven, other))
			c.fixed = true
		}
		return
	}
	c.proven = max(c.proven, inUse)
	if c.proven >= c.per && c.per < MaxStreams {
		m.setCap(h, c.proven+1)
	}
}

func (m *multiplexing) setCap(h string, per int) {
	m.count(h, -1)
	m.caps[h].per = max(per, 1)
	m.count(h, 1)
}

// saved is how many fewer -j slots the running streams take than they
// would as connections.
func (m *multiplexing) saved() int { return m.running - m.slots }

// defaultStreams is libcurl's own default for CURLMOPT_MAX_CONCURRENT_STREAMS
// and RFC 9113's recommended minimum for SETTINGS_MAX_CONCURRENT_STREAMS:
// what a host's connection starts with unless --streams says otherwise.
const defaultStreams = 100

// MaxStreams bounds how far probing grows a connection's streams (it is
// the CURLMOPT_MAX_CONCURRENT_STREAMS then set): Go's servers allow 250,
// Cloudflare 256, nginx 128, most others 100.
const MaxStreams = 256

// learnMux marks t's host as multiplexing when t ended over HTTP/2 or 3
// there. Ranges speak HTTP/1.1 and say nothing; a transfer redirected to
// another host says nothing of its own host's connections; plain http://
// never gets HTTP/2 (libcurl asks for it over TLS only, by ALPN).
func (e *engine) learnMux(t *transfer) {
	if t.seg != nil || e.sch.mux.known[t.host] {
		return
	}
	if v := getInt(t.easy, infoHTTPVersion); v != httpVersion2 && v != httpVersion3 {
		return
	}
	if hostKey(getString(t.easy, curl.INFO_EFFECTIVE_URL)) != t.host {
		return
	}
	e.markMux(t.host, t)
}

// markMux records that host h multiplexes. The transfers to it started
// before, waiting on the same connection (CURLOPT_PIPEWAIT), are streams
// of it too; except, when it has ended, is not.
func (e *engine) markMux(h string, except *transfer) {
	e.sch.mux.learn(h)
	for _, o := range e.active {
		if o.host == h && o.seg == nil && !o.stream && o != except {
			e.sch.mux.take(o.host) // it still counts for its host as before
			o.stream = true
		}
	}
}
