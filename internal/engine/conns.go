package engine

// What the connection libcurl gives each transfer tells about its host,
// earlier than any response (conns.c records it from
// CURLOPT_PREREQFUNCTION, libcurl >= 7.80; on older ones nothing is
// recorded and hosts are learnt from their responses):
//
//   - A host multiplexes as soon as a transfer is given a connection whose
//     previous transfer has no response yet. libcurl sends an HTTP/1.x
//     request only on an idle connection (it dropped pipelining in 7.65),
//     so only a multiplexed one carries a second request before the first
//     is answered. The first transfers to a host wait for its first
//     connection (CURLOPT_PIPEWAIT) and are given it when its TLS handshake
//     ends; learning then instead of at the first response, a round trip
//     later, lets the rest of the host's queue start as streams in the
//     same round trip. MULTIGET_OFF=earlymux turns this off.
//   - Without --streams, a stream started at its host's cap and given a
//     connection in use grows the cap by one; one that needed a new
//     connection found the server's SETTINGS_MAX_CONCURRENT_STREAMS (mux.go,
//     given). MULTIGET_OFF=streamprobe keeps every connection at 100.

/*
#include "conns.h"
#include "xfer.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// watching says whether the connections of the next https transfer to h
// can teach anything: while h is not known to multiplex, or its cap is
// still being probed. Elsewhere (http://, ranges, a host whose cap is
// settled) nothing is recorded, and the callback costs a test.
func (e *engine) watching(h string) bool {
	if !e.sch.mux.known[h] {
		return !e.cfg.Tuning.NoEarlyMux
	}
	return e.sch.mux.probing(h) || e.sch.mux.few[h]
}

func (x cxfer) watchConn() { x.p.conn.watch = 1 }

// connID names a connection by its two ends.
type connID struct {
	lip, rip     string
	lport, rport int
}

// watchConns reads which connections libcurl gave transfers during the
// last curl_multi_perform. It runs after drain: the transfers still active
// then that were given a connection before another were running when it
// was given its (a transfer removed meanwhile is dropped from the list).
func (e *engine) watchConns() {
	defer e.afterConns()
	var n C.int
	p := C.mg_conn_take(&n)
	if n == 0 || p == nil {
		return
	}
	for _, px := range unsafe.Slice(p, int(n)) {
		t := e.active[uintptr(px.easy)]
		if t == nil || t.x.p != px {
			continue
		}
		e.connGiven(t, &px.conn)
	}
}

func (e *engine) connGiven(t *transfer, c *C.mg_conn) {
	if t.seg != nil {
		return // ranges speak HTTP/1.1
	}
	t.conn = connID{lip: C.GoString(&c.lip[0]), rip: C.GoString(&c.rip[0]), lport: int(c.lport), rport: int(c.rport)}
	e.sch.mux.streamGiven(t.host, t.conn, c.fresh != 0)
	if t.opens {
		t.opens = false
		e.sch.mux.opened(t.host, c.fresh != 0, t.probe) // the host's next streams can share it
	}
	prev := e.lastOn[t.conn]
	e.lastOn[t.conn] = t
	if !e.sch.mux.known[t.host] {
		// (watching recorded nothing for such a host with earlymux off.)
		if c.fresh != 0 {
			wait := 2 * time.Duration(c.handshake_us) * time.Microsecond
			e.sch.mux.connected(t.host, c.late != 0, time.Now().Add(wait))
		}
		if prev == nil || prev.host != t.host || e.active[uintptr(prev.easy.GetHandle())] != prev {
			return
		}
		if pc := &prev.x.p.conn; pc.resp != 0 && pc.resp < c.seq {
			return // the connection was handed on after an answer, as HTTP/1.1 does
		}
		e.markMux(t.host, nil)
		return
	}
	fresh := c.fresh != 0
	if !t.stream || !e.sch.mux.probing(t.host) {
		return
	}
	// The streams to the host given a connection before t and still
	// running were running when t was given its: those on t's own
	// connection and, for a fresh one, the most on any other.
	onConn := make(map[connID]int)
	for _, o := range e.active {
		if o != t && o.host == t.host && o.seg == nil && o.x.p.conn.seq != 0 && o.x.p.conn.seq < c.seq {
			onConn[o.conn]++
		}
	}
	other := 0
	for id, n := range onConn {
		if id != t.conn {
			other = max(other, n)
		}
	}
	e.sch.mux.given(t.host, onConn[t.conn]+1, fresh, other, e.sch.queued[t.host])
}

// afterConns, once the perform's connections are read (so that a host
// given its first connection and its first answer in one perform is
// heard at once), ends the waits for SETTINGS that an answer or the clock
// ends, recounts the hosts of few streams, and ends the round
// (settings.go, mux.go). The first responses recorded since the last pass
// are counted once for both.
func (e *engine) afterConns() {
	m := &e.sch.mux
	answered := false
	if len(m.unheard) > 0 || len(m.few) > 0 {
		answered = m.newAnswers(uint64(C.mg_conn_responses()))
	}
	e.hearAnswers(answered)
	e.countUnsettled(answered)
	m.endRound()
}

// forgetConn drops t from the connections it was last given.
func (e *engine) forgetConn(t *transfer) {
	if e.lastOn[t.conn] == t {
		delete(e.lastOn, t.conn)
	}
	e.sch.mux.streamEnded(t.host, t.conn, t.x.p.conn.resp != 0)
}
