package engine

// HTTP/2 streams: what -j and --per-host count on a host known to
// multiplex. Over HTTP/1.1 a transfer is a connection; over HTTP/2 (or 3)
// libcurl runs up to CURLMOPT_MAX_CONCURRENT_STREAMS transfers on one
// connection (and opens another when the server allows fewer), so there a
// slot stands for a connection: --streams transfers.

import (
	"strings"
	"time"

	curl "github.com/andelf/go-curl"
)

type multiplexing struct {
	per     int             // --streams, or firstWave to start from when probing
	probe   bool            // no --streams: each host's cap grows to what its server allows (conns.go)
	known   map[string]bool // hosts known to multiplex
	streams map[string]int  // running transfers counted as streams, per host
	caps    map[string]*streamCap
	slots   int // connections the streams stand for, all hosts
	running int // running transfers counted as streams, all hosts
	open    int // hosts whose last connection has room for a stream

	// oneConn: libcurl before 8.0 (its change "CURLOPT_PIPEWAIT: allow
	// waited reuse also for subsequent connections", curl issue 10456):
	// a transfer finding every connection to the host at
	// CURLMOPT_MAX_CONCURRENT_STREAMS opens a connection of its own even
	// with CURLOPT_PIPEWAIT, rather than wait for the one another transfer
	// is opening (measured on 7.88: 10 streams at --streams 5 took 6
	// connections). libcurl 8 waits, but opens the next connection only
	// once the last one is full, one at a time.
	oneConn bool
	// ramp (libcurl >= 7.80, CURLOPT_PREREQFUNCTION says which connection
	// a transfer was given): a stream starts where the host's connections
	// have room by the count, or as an opener, without PIPEWAIT, which
	// opens the next connection; the streams after it start once libcurl
	// has given it its connection (conns.go). While the host's cap is
	// probed, probes go past what its connections were seen to carry
	// (batch); once one finds the server's limit, several openers may be
	// out at once, one per connection the waiting entries fill. Without
	// ramp, before 8.0 a host keeps to one connection, and on 8.x
	// PIPEWAIT decides.
	ramp bool
	// wave: the first transfers to an https host not yet known to
	// multiplex or not are at most firstWave (ramp only; conns.go learns
	// from them, and endRound ends the wave of a host whose first
	// connection took no second one). Those waiting for its first
	// connection are all given it before libcurl has read the server's
	// SETTINGS, so on a server allowing fewer streams than libcurl assumes
	// (100), the rest wait inside the connection and the host looks as if
	// it took them all.
	wave         bool
	lateSettings // settings.go
	// settled: https hosts past their first wave (known to multiplex, a
	// first connection that took no second transfer, or a transfer
	// ended).
	settled map[string]bool
	// firstConn: hosts in their first wave whose first connection was
	// given, and the round it was.
	firstConn map[string]int
	// opening: hosts with streams waiting for the connections they open.
	opening map[string]*opening
	// rounds counts the calls to curl_multi_perform whose connections
	// were read (conns.go).
	rounds int
	// slack is how many -j slots were free at the last fill (loop.go).
	slack int
}

// opening counts one host's openers: est connections were the host's
// when the first of them started, plus those its openers got since; k
// openers wait for theirs, probes of them probes (they hold the last
// places est connections have by the count); the first started in round.
type opening struct{ est, k, probes, round int }

// streamCap is what one multiplexing host's connections were seen to take
// (conns.go): per streams each; proven were running at once on a
// connection libcurl reused; fixed once a stream past proven needed a
// new connection, or with --streams.
type streamCap struct {
	per, proven int
	fixed       bool
}

// firstWave is how many transfers an https host gets before it is known
// to multiplex or not, and so the streams a multiplexing host's first
// connection is trusted with before more are seen to fit: two, so that
// the second, given the first one's connection, says it multiplexes.
const firstWave = 2

// newMultiplexing: per is --streams, 0 when not given (then each host
// starts at defaultStreams, or probed from firstWave up to its server's
// limit); t turns the probe, the ramp and the first wave off.
func newMultiplexing(per int, t Tuning) multiplexing {
	m := multiplexing{per: per, known: make(map[string]bool), streams: make(map[string]int),
		caps: make(map[string]*streamCap), oneConn: Lib().Num < 0x080000,
		settled: make(map[string]bool), firstConn: make(map[string]int), opening: make(map[string]*opening),
		lateSettings: newLateSettings()}
	m.ramp = Lib().Num >= 0x075000 && !t.NoRamp
	// The first wave learns from the connections libcurl hands out,
	// which only watched transfers record (conns.go, earlymux).
	m.wave = m.ramp && !t.NoEarlyMux && hasFeature("HTTP2")
	if per < 1 {
		m.per, m.probe = defaultStreams, !t.NoStreamProbe
		if m.probe && m.ramp {
			m.per = firstWave
		}
	}
	return m
}

// learn records that h multiplexes: its next transfers are streams
// (learnMux turns those already running there into streams too).
func (m *multiplexing) learn(h string) {
	m.known[h] = true
	m.caps[h] = &streamCap{per: m.per, fixed: !m.probe}
	m.capsMoved = true
}

// inWave says whether h is an https host still in its first wave.
func (m *multiplexing) inWave(h string) bool {
	return m.wave && !m.known[h] && !m.settled[h] && strings.HasPrefix(h, "https://")
}

// settle ends h's first wave.
func (m *multiplexing) settle(h string) {
	if m.inWave(h) {
		m.settled[h] = true
	}
	delete(m.firstConn, h)
}

// connected notes that a transfer in h's first wave was given the host's
// first connection, late if its server's SETTINGS may come after the
// first requests, then waited for until until (unheard).
func (m *multiplexing) connected(h string, late bool, until time.Time) {
	if _, ok := m.firstConn[h]; !ok && m.inWave(h) {
		m.firstConn[h] = m.rounds
		if late {
			m.unheard[h], m.late[h] = until, true
		}
	}
}

// endRound ends the first wave of each host whose first connection was
// given in an earlier round and took no second transfer: the transfers
// waiting for it (CURLOPT_PIPEWAIT) are handed it with it, in the same
// curl_multi_perform or the next, when it multiplexes (seen on 7.88 and
// 8.21; were it later, the host would only lose its first wave). It does
// not: an HTTP/1.x server, whose other entries may each open a
// connection now, not a round trip later at its first answer.
func (m *multiplexing) endRound() {
	for h, r := range m.firstConn {
		if m.rounds > r {
			m.settle(h)
		}
	}
	m.rounds++
}

// perConn is how many streams one connection to h carries.
func (m *multiplexing) perConn(h string) int {
	if c := m.caps[h]; c != nil {
		return c.per
	}
	return m.per
}

// connsOf is the connections the streams to h stand for: ceil(n/per), and
// while openers wait, those before them and theirs.
func (m *multiplexing) connsOf(h string) int {
	p := m.perConn(h)
	c := (m.streams[h] + p - 1) / p
	if o := m.opening[h]; o != nil {
		c = max(c, o.est+o.k)
	}
	return c
}

// hasRoom says whether a connection h's streams stand for has room for one
// more: while openers wait, one of those they do not wait for.
func (m *multiplexing) hasRoom(h string) bool {
	n, p := m.streams[h], m.perConn(h)
	if o := m.opening[h]; o != nil {
		return n-o.k+o.probes < o.est*p
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

// newConnOK says whether a stream to h may open a connection of its own,
// queued being how many entries wait for h. With ramp: while h's cap is
// probed, only once a probe is seen opening one; then, while the
// connections being opened leave waiting entries without room. Without ramp,
// where libcurl cannot wait for a second connection being opened
// (oneConn), only as the host's first.
func (m *multiplexing) newConnOK(h string, queued int) bool {
	if !m.known[h] || m.streams[h] == 0 {
		return true
	}
	if !m.ramp {
		return !m.oneConn
	}
	if _, wait := m.unheard[h]; wait && m.probing(h) {
		return false
	}
	o := m.opening[h]
	if o == nil {
		return true
	}
	c := m.caps[h]
	// While the cap is probed, the probes past it may be given a
	// connection in use, and then the cap grows: libcurl hands a stream
	// one with room within the curl_multi_perform that started it (seen
	// on 7.88 and 8.21; were it later, openers would only wait one round
	// longer). Once a perform went by without, a probe is opening a
	// connection: the host is at its server's limit, and more openers may
	// go out beside it.
	if (c == nil || !c.fixed) && m.rounds <= o.round {
		return false
	}
	return o.k*(m.perConn(h)-1) < queued
}

// opens says whether the next stream to h, with ramp, opens a connection:
// the connections its streams stand for are full; or is a probe: while
// h's cap is probed, the streams counted past proven have room by the
// count, and each may be given a connection in use or find the server's
// limit and open the next. (The count can be off when libcurl has other
// connections to h, from the transfers that ran before h was known to
// multiplex: the stream is then given one with room, and the host's next
// streams start at once.)
func (m *multiplexing) opens(h string) (opens, probe bool) {
	n := m.streams[h]
	if !m.ramp || !m.known[h] || n == 0 {
		return false, false
	}
	if !m.hasRoom(h) {
		return true, false
	}
	probe = m.probing(h) && n%m.caps[h].per >= m.caps[h].proven
	return probe, probe
}

// startOpening notes that the stream just counted for h opens a connection
// (opens said so before it was counted), probe if it had room by the
// count; opened, that it has one (a new one, fresh), or ended without.
func (m *multiplexing) startOpening(h string, probe bool) {
	m.count(h, -1)
	o := m.opening[h]
	if o == nil {
		p := m.perConn(h)
		o = &opening{est: (m.streams[h] - 1 + p - 1) / p, round: m.rounds}
		m.opening[h] = o
	}
	o.k++
	o.probes += b2i(probe)
	m.count(h, 1)
}

func (m *multiplexing) opened(h string, fresh, probe bool) {
	o := m.opening[h]
	if o == nil {
		return
	}
	m.count(h, -1)
	o.probes -= b2i(probe)
	if o.k--; fresh {
		o.est++
	}
	if o.k <= 0 {
		delete(m.opening, h)
	}
	m.count(h, 1)
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

// probing says whether what libcurl does with h's next streams can still
// teach h's cap: until it is fixed.
func (m *multiplexing) probing(h string) bool {
	c := m.caps[h]
	return c != nil && !c.fixed
}

// given notes what libcurl gave a stream to h: a connection in use, which
// then carried at least inUse streams with it (the server allows that
// many: the cap becomes that, and the next stream past it probes
// further), or a fresh one while another of h's connections carried
// other streams, which says that one was full: h's server allows no more
// than it carried, and the cap stays at what was seen. Probing stops at
// MaxStreams.
func (m *multiplexing) given(h string, inUse int, fresh bool, other, queued int) {
	c := m.caps[h]
	if c == nil || c.fixed {
		return
	}
	if fresh {
		if other > 0 {
			m.setCap(h, max(c.proven, other))
			m.fix(h)
		}
		return
	}
	c.proven = max(c.proven, inUse)
	if c.proven >= c.per {
		m.setCap(h, min(c.proven+m.batch(c.proven, queued), m.maxPer(h)))
	}
	if c.proven >= m.maxPer(h) {
		m.fix(h)
	}
}

// batch is how many probes may go past proven at once: as many again
// (the cap doubles: log2 steps, not one per curl_multi_perform), but no
// more than the -j slots left free or the connections the queued entries
// would fill at proven streams each, since each probe may find the
// server's limit and open a connection (libcurl before 8.0 opens one for
// each); at least one.
func (m *multiplexing) batch(proven, queued int) int {
	return max(1, min(proven, m.slack, queued/max(proven, 1)))
}

func (m *multiplexing) setCap(h string, per int) {
	m.count(h, -1)
	m.caps[h].per = max(per, 1)
	m.count(h, 1)
	m.capsMoved = true
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
