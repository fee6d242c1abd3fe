package engine

// Servers whose HTTP/2 SETTINGS come late. Over TLS 1.3, or a resumed TLS
// 1.2 session, the server's side of the handshake ends with the client's
// last message, so its SETTINGS (SETTINGS_MAX_CONCURRENT_STREAMS among
// them) come a round trip after the client's handshake ends, with the
// first answers; until then libcurl assumes 100 streams on the connection.
// conns.c tells such a connection (mg_settings_late); what follows for
// the host's streams is here (docs/design.md, "SETTINGS that come late").

import "time"

// lateSettings is what multiplexing keeps of such hosts.
type lateSettings struct {
	// unheard: hosts whose first connection may get the server's
	// SETTINGS a round trip after the client's handshake ends (TLS 1.3,
	// or a resumed session: mg_settings_late), with no answer yet, and
	// until when they wait. Known to multiplex, such a host starts
	// nothing past its first wave until an answer, which comes after the
	// SETTINGS on its connection, or until twice its handshake's time has
	// gone by since (SETTINGS leave the server half a round trip after
	// the handshake ends, so a server slow to answer holds the host no
	// longer). Probes sent before the SETTINGS pass a limit below
	// libcurl's 100, the server refuses the streams past it, and libcurl
	// takes each refusal as the end of the connection and retries the
	// stream on a new one (seen on nginx allowing 20 streams at 50 ms:
	// 84-186 connections and over a hundred refused streams for 500 files
	// with 7.88). It costs such a host a round trip; over a full TLS 1.2
	// handshake the SETTINGS come with its end, and nothing waits.
	unheard map[string]time.Time
	// late: hosts whose first connection was late so (unheard), and
	// whose next ones will be: libcurl assumes 100 streams on a
	// connection until its SETTINGS come, so before 8.0 such a host's cap
	// stops at 100 (maxPer), and libcurl's own cap per connection follows
	// the caps found (clientCap).
	late map[string]bool
	// capsMoved: a host's cap changed since clientCap was last asked.
	capsMoved bool
	// curlCap: libcurl's own cap on a connection's streams
	// (CURLMOPT_MAX_CONCURRENT_STREAMS), as last set.
	curlCap int

	// Hosts of few streams: late hosts whose cap was found below the
	// 100 streams libcurl gives a new connection until its SETTINGS
	// come. libcurl's cap (clientCap) holds them to their cap, but only
	// while no host allows more: with another host's cap above it (a
	// list of two servers), libcurl handed a new connection to nginx
	// allowing 20 up to 79 streams at once, and over a hundred were
	// refused per run. So where libcurl's cap is above such a host's,
	// the host's streams not yet on a connection that has answered,
	// whose SETTINGS therefore came, stay within its cap (settingsRoom):
	// then no connection of it takes more before its SETTINGS, wherever
	// libcurl puts them.
	few       map[string]bool // hosts of few streams
	unsettled map[string]int  // per host of few streams: its streams not on an answered connection
	heardOn   map[connID]bool // connections to such hosts that have answered
	// recount: one of their streams was given a connection or ended, or
	// one became such a host, since countUnsettled last counted.
	recount bool
	// answers: the first responses conns.c had recorded at the last look
	// (mg_conn_responses).
	answers uint64
}

func newLateSettings() lateSettings {
	return lateSettings{unheard: make(map[string]time.Time), late: make(map[string]bool),
		few: make(map[string]bool), unsettled: make(map[string]int), heardOn: make(map[connID]bool)}
}

// heard notes that h answered, or that a transfer to it ended.
func (m *multiplexing) heard(h string) { delete(m.unheard, h) }

// settingsDue ends the wait of each host whose SETTINGS are due by now.
func (m *multiplexing) settingsDue(now time.Time) {
	for h, until := range m.unheard {
		if !until.After(now) {
			delete(m.unheard, h)
		}
	}
}

// maxPer is how far probing grows h's cap: MaxStreams; before libcurl
// 8.0 (oneConn), where the server's SETTINGS come late (late), libcurl's
// 100, which is what libcurl assumes each new connection takes until
// they come. Past it the count has streams start that libcurl 7.88 finds
// no room for, and it opens a connection for each (seen: one each for
// the last 42 of 500 files to nginx allowing 128 over TLS 1.3); libcurl
// 8 has them wait for the SETTINGS.
func (m *multiplexing) maxPer(h string) int {
	if m.late[h] && m.oneConn {
		return defaultStreams
	}
	return MaxStreams
}

// clientCap is what libcurl's own cap on a connection's streams
// (CURLMOPT_MAX_CONCURRENT_STREAMS) should be: the most any host's cap
// allows, firstWave at least; while a host's cap is probed, maxPer (its
// probes may be given a connection its count says is full, and grow the
// cap). Until a new connection's SETTINGS come, libcurl gives it as many
// waiting streams as that allows, up to 100: past the limit of a server
// allowing fewer, which refuses them (seen: 55-59 refused on each of
// three new connections to nginx allowing 20 over TLS 1.3, 500 files at
// 50 ms). 0 without the first wave (a host's transfers then wait for its
// first connection before it is known to multiplex) or without probing:
// the cap set at the start stays.
func (m *multiplexing) clientCap() int {
	if !m.wave || !m.probe {
		return 0
	}
	n := firstWave
	for h, c := range m.caps {
		if c.fixed {
			n = max(n, c.per)
		} else {
			n = max(n, m.maxPer(h))
		}
	}
	return n
}

// newAnswers says whether first responses were recorded since the last
// look, n being how many there are now.
func (m *multiplexing) newAnswers(n uint64) bool {
	if n == m.answers {
		return false
	}
	m.answers = n
	return true
}

// hearAnswers ends the wait of each host waiting for its server's
// SETTINGS (unheard) once a transfer to it has an answer, or once they
// are due. Only a first response recorded since the last look (answered)
// can end a wait: the transfers are looked at only then.
func (e *engine) hearAnswers(answered bool) {
	if len(e.sch.mux.unheard) == 0 {
		return
	}
	e.sch.mux.settingsDue(time.Now())
	if !answered {
		return
	}
	for _, t := range e.active {
		if _, wait := e.sch.mux.unheard[t.host]; wait && t.x.p.conn.resp != 0 {
			e.sch.mux.heard(t.host)
		}
	}
}

// syncStreamCap sets libcurl's cap on a connection's streams to what
// the hosts' caps ask (clientCap), when that changed: it looks at every
// host's cap only after one of them moved, not on every pass of the loop.
func (e *engine) syncStreamCap() {
	m := &e.sch.mux
	if !m.capsMoved {
		return
	}
	m.capsMoved = false
	n := m.clientCap()
	if n == 0 || n == m.curlCap {
		return
	}
	if e.multi.Setopt(moptMaxConcurrentStreams, n) == nil {
		m.curlCap = n
	}
}

// fix settles h's cap at what it is; a late host's below the 100 libcurl
// gives a new connection makes it a host of few streams, whose streams
// running already are counted at the end of this round.
func (m *multiplexing) fix(h string) {
	c := m.caps[h]
	c.fixed, m.capsMoved = true, true
	if m.late[h] && c.per < defaultStreams {
		m.few[h], m.recount = true, true
	}
}

// streamStarted counts a stream starting to h: not on an answered
// connection until countUnsettled finds it there.
func (m *multiplexing) streamStarted(h string) {
	if m.few[h] {
		m.unsettled[h]++
	}
}

// streamGiven notes that a stream to h was given connection id, fresh
// if opened for it (one that took the ends of a closed one has not
// answered).
func (m *multiplexing) streamGiven(h string, id connID, fresh bool) {
	if fresh {
		delete(m.heardOn, id)
	}
	m.recount = m.recount || m.few[h]
}

// streamEnded notes that a stream to h on connection id ended, answered
// if it had a response there (its SETTINGS came before).
func (m *multiplexing) streamEnded(h string, id connID, answered bool) {
	if m.few[h] {
		m.recount = true
		if answered {
			m.heardOn[id] = true
		}
	}
}

// settingsRoom says whether one more stream to h keeps every connection
// of it within its cap before its SETTINGS come: where libcurl's cap is
// above a host's of few streams, while fewer than its cap of its streams
// are not on an answered connection.
func (m *multiplexing) settingsRoom(h string) bool {
	if !m.few[h] {
		return true
	}
	c := m.caps[h].per
	return c >= m.curlCap || m.unsettled[h] < c
}

// countUnsettled counts, for each host of few streams, its streams not on
// a connection that has answered: those not given one yet and those on
// one whose transfers have no response yet. It runs after each
// curl_multi_perform once there is such a host, when the transfers that
// ended in it are gone (streamEnded kept their connections if answered),
// and counts only when one of their streams was given a connection or
// ended, or a response came (answered), since it last counted (the
// streams started meanwhile were added as they started).
func (e *engine) countUnsettled(answered bool) {
	m := &e.sch.mux
	if len(m.few) == 0 || !answered && !m.recount {
		return
	}
	m.recount = false
	clear(m.unsettled)
	for _, t := range e.active {
		if t.stream && m.few[t.host] && t.x.p.conn.resp != 0 {
			m.heardOn[t.conn] = true
		}
	}
	for _, t := range e.active {
		if t.stream && m.few[t.host] && (t.x.p.conn.seq == 0 || !m.heardOn[t.conn]) {
			m.unsettled[t.host]++
		}
	}
}
