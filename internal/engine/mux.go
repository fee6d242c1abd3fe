package engine

// HTTP/2 streams: what -j and --per-host count on a host known to
// multiplex. Over HTTP/1.1 a transfer is a connection; over HTTP/2 (or 3)
// libcurl runs up to CURLMOPT_MAX_CONCURRENT_STREAMS transfers on one
// connection (and opens another when the server allows fewer), so there a
// slot stands for a connection: --streams transfers.

import curl "github.com/andelf/go-curl"

type multiplexing struct {
	per     int             // --streams: transfers per connection (>= 1)
	known   map[string]bool // hosts a transfer ended over HTTP/2 or 3 with
	streams map[string]int  // running transfers counted as streams, per host
	slots   int             // connections the streams stand for, all hosts
	running int             // running transfers counted as streams, all hosts
	open    int             // hosts whose last connection has room for a stream

	// oneConn: at most one connection per multiplexing host. Before
	// libcurl 8.0 (its change "CURLOPT_PIPEWAIT: allow waited reuse also
	// for subsequent connections", curl issue 10456), a transfer finding
	// every connection to the host at CURLMOPT_MAX_CONCURRENT_STREAMS opens
	// a connection of its own even with CURLOPT_PIPEWAIT, rather than wait
	// for the one another transfer is opening (measured on 7.88: 10 streams
	// at --streams 5 took 6 connections, on 8.21 two). There a host's
	// streams stay within one connection's --streams.
	oneConn bool
}

func newMultiplexing(per int) multiplexing {
	return multiplexing{per: max(per, 1), known: make(map[string]bool), streams: make(map[string]int),
		oneConn: Lib().Num < 0x080000}
}

// learn records that h multiplexes: its next transfers are streams
// (learnMux turns those already running there into streams too).
func (m *multiplexing) learn(h string) { m.known[h] = true }

// connsOf is the connections the streams to h stand for: ceil(n/per).
func (m *multiplexing) connsOf(h string) int { return (m.streams[h] + m.per - 1) / m.per }

// openRoom says whether a stream to h fits on a connection its running
// streams already stand for.
func (m *multiplexing) openRoom(h string) bool {
	if m.oneConn {
		return m.streams[h] > 0 && m.streams[h] < m.per
	}
	return m.streams[h]%m.per != 0
}

// newConnOK says whether a stream to h may open a connection of its own:
// never where libcurl cannot share a second one (oneConn) while the first
// runs streams.
func (m *multiplexing) newConnOK(h string) bool {
	return !m.oneConn || !m.known[h] || m.streams[h] == 0
}

func (m *multiplexing) take(h string) {
	n := m.streams[h]
	if n%m.per == 0 {
		m.slots++
		m.open++
	}
	m.streams[h] = n + 1
	m.running++
	if (n+1)%m.per == 0 {
		m.open--
	}
}

func (m *multiplexing) release(h string) {
	n := m.streams[h]
	if n%m.per == 0 {
		m.open++
	}
	n--
	m.running--
	if n%m.per == 0 {
		m.slots--
		m.open--
	}
	if n <= 0 {
		delete(m.streams, h)
		return
	}
	m.streams[h] = n
}

// saved is how many fewer -j slots the running streams take than they
// would as connections.
func (m *multiplexing) saved() int { return m.running - m.slots }

// defaultStreams is libcurl's own default for CURLMOPT_MAX_CONCURRENT_STREAMS
// and RFC 9113's recommended minimum for SETTINGS_MAX_CONCURRENT_STREAMS.
const defaultStreams = 100

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
	e.sch.mux.learn(t.host)
	// The transfers started before, waiting on the same connection
	// (CURLOPT_PIPEWAIT), are streams of it too.
	for _, o := range e.active {
		if o.host == t.host && o.seg == nil && !o.stream && o != t {
			e.sch.mux.take(o.host) // it still counts for its host as before
			o.stream = true
		}
	}
}
