package engine

// Per-host feedback: a pause shared by every transfer of a host that said
// 429 or 503, and a concurrency limit that adapts (AIMD). A server that
// answers 429 to one request speaks for the host, not for that URL: the
// next request of any entry would get the same answer, and each one sent
// only prolongs the overload the server asked us to stop adding to.

import (
	"math/bits"
	"time"
)

// hostState is what the scheduler knows of one scheme://host:port.
type hostState struct {
	running int // transfers running, ranges included
	limit   int // current limit, 0 = none yet (no cap and never halved)
	ceiling int // the host failed above this many at once, 0 = never

	// A burst of refusals steps the ceiling down before it is known
	// whether some transfers survived it (the host serves that many) or
	// none did (an outage, which says nothing of concurrency): burstAt is
	// the ticket counter when the burst began, 0 when none is unsettled,
	// and before the ceiling it found.
	burstAt uint64
	before  int

	pausedUntil time.Time // no transfer starts before this
	probing     bool      // the pause is over: one transfer probes first
	probe       uint64    // its start ticket while it runs, 0 = none started
	strikes     int       // probes that got 429/503 again in a row

	halvedAt uint64 // ticket counter at the last halving: older failures are that round's
	recent   uint8  // the last completions, a bit set per connection failure

	stat HostStats
}

// HostStats says what feedback a host gave during a run.
type HostStats struct {
	Host      string        // scheme://host:port
	Peak      int           // most transfers running at once
	Lowest    int           // lowest limit reached, 0 = never limited
	Paused    time.Duration // total time paused by 429/503
	Throttles map[int]int   // 429 and 503 answers by status
	ConnFails int           // connections refused or reset (curl 7, 52, 55, 56)
	Timeouts  int           // transfers that timed out (curl 28)
}

// Throttled says whether the host slowed the run down at all: a lone
// transfer's failures, halving 1 to 1, did not.
func (h HostStats) Throttled() bool { return h.Paused > 0 || h.Lowest > 0 && h.Lowest < h.Peak }

// connBurst: this many connection failures among the last 4 completions of
// a host mean it refuses load, not that one packet was lost.
const connBurst = 2

func (h *hostState) pristine() bool {
	return h.running == 0 && h.limit == 0 && h.ceiling == 0 && h.burstAt == 0 && !h.probing &&
		h.pausedUntil.IsZero() && h.recent == 0
}

// free says whether one more transfer may start at now.
func (h *hostState) free(now time.Time, perHost int) bool {
	if now.Before(h.pausedUntil) {
		return false
	}
	if h.probing && h.probe != 0 {
		return false // the probe decides for the rest
	}
	if perHost > 0 && h.running >= perHost || h.ceiling > 0 && h.running >= h.ceiling {
		return false
	}
	return h.limit <= 0 || h.running < h.limit
}

func (h *hostState) take(ticket uint64, now time.Time) {
	h.running++
	h.stat.Peak = max(h.stat.Peak, h.running)
	if h.probing && h.probe == 0 && !now.Before(h.pausedUntil) {
		h.probe = ticket
	}
}

// halve cuts the limit once per round: failures of transfers that started
// before the last halving are the same overload, already answered.
func (h *hostState) halve(ticket, counter uint64, perHost int) {
	if ticket <= h.halvedAt {
		return
	}
	cur := h.limit
	if cur <= 0 {
		cur = h.running
		if perHost > 0 {
			cur = min(cur, perHost)
		}
	}
	h.limit = max(cur/2, 1)
	h.halvedAt = counter
	h.noteLowest()
}

// noteLowest keeps the lowest number of transfers the host was allowed.
func (h *hostState) noteLowest() {
	n := h.limit
	if h.ceiling > 0 && (n <= 0 || h.ceiling < n) {
		n = h.ceiling
	}
	if n > 0 && (h.stat.Lowest == 0 || n < h.stat.Lowest) {
		h.stat.Lowest = n
	}
}

// failedAt notes that the host refused connections (a burst of them)
// while this many ran: this run never has that many on it again. Each
// refusal of the burst steps the ceiling down to what still runs, so it
// settles where the survivors are; counter is the tickets handed out, the
// start of the burst when none is unsettled (settle). A 429 or a timeout
// speaks of rate, not of connections, and sets no ceiling; a lone refusal
// may be a lost packet; a lone transfer's failure says nothing of
// concurrency.
func (h *hostState) failedAt(counter uint64) {
	if h.burstAt == 0 {
		h.burstAt, h.before = counter, h.ceiling
	}
	if n := h.running - 1; n >= 1 && (h.ceiling == 0 || n < h.ceiling) {
		h.ceiling = n
		h.noteLowest()
	}
}

// settle: a transfer with this ticket succeeded. If it ran through the
// burst, the host served that many while refusing more, and the ceiling
// stands. If it started after the burst, every transfer that ran then
// failed: an outage (a restart, a dropped link), not a limit, and the
// ceiling goes back to what it was; the halved limit still grows back
// one per success. Without this, 16 transfers reset together left the
// host one connection for the rest of the run.
func (h *hostState) settle(ticket uint64) {
	if h.burstAt == 0 {
		return
	}
	if ticket > h.burstAt {
		h.ceiling = h.before
	}
	h.burstAt, h.before = 0, 0
}

// grow adds one to a limit the host has, up to --per-host and below the
// concurrency it last failed at.
func (h *hostState) grow(perHost int) {
	if h.limit <= 0 {
		return
	}
	top := h.ceiling
	if perHost > 0 && (top == 0 || perHost < top) {
		top = perHost
	}
	if top == 0 || h.limit < top {
		h.limit++
	}
}

func (h *hostState) record(connFail bool) {
	h.recent <<= 1
	if connFail {
		h.recent |= 1
	}
	h.recent &= 0xf
}

// pause holds the host until now+d; a probe that got 429/503 again
// doubles the pause each time, up to maxPause.
func (h *hostState) pause(ticket uint64, now time.Time, d, maxPause time.Duration) {
	if h.probing && ticket == h.probe && h.probe != 0 {
		h.strikes++
		h.probe = 0
	}
	for i := 0; i < h.strikes && (maxPause <= 0 || d < maxPause); i++ {
		d *= 2
	}
	if maxPause > 0 && d > maxPause {
		d = maxPause
	}
	until := now.Add(d)
	if !until.After(h.pausedUntil) {
		return
	}
	start := now
	if h.pausedUntil.After(now) {
		start = h.pausedUntil
	}
	h.stat.Paused += until.Sub(start)
	h.pausedUntil = until
	h.probing = true
}

// ended settles a transfer that did not get 429/503: the probe that ends
// so reopens the host to everything waiting.
func (h *hostState) ended(ticket uint64) {
	if h.probing && ticket == h.probe {
		h.probing, h.probe, h.strikes = false, 0, 0
	}
}

// The scheduler's side: every transfer takes a ticket when it starts and
// reports how it ended with it.

func (s *sched) host(h string) *hostState {
	st := s.hosts[h]
	if st == nil {
		st = &hostState{stat: HostStats{Host: h}}
		s.hosts[h] = st
	}
	return st
}

// throttled: a 429 or 503 (S3's SlowDown is a 503) pauses every transfer
// of h not yet running for wait (the server's Retry-After, else the
// backoff the entry got) and halves its limit.
func (s *sched) throttled(h string, ticket uint64, status int, wait time.Duration) {
	st := s.host(h)
	if st.stat.Throttles == nil {
		st.stat.Throttles = map[int]int{}
	}
	st.stat.Throttles[status]++
	st.halve(ticket, s.tickets, s.transferCap(h))
	st.pause(ticket, s.now(), wait, s.maxPause)
	s.paused[st] = struct{}{}
	st.record(false)
}

// succeeded grows h's limit by one.
func (s *sched) succeeded(h string, ticket uint64) {
	st := s.host(h)
	st.settle(ticket)
	st.grow(s.transferCap(h))
	st.record(false)
	st.ended(ticket)
}

// failedConn: a connection refused or reset (code 7, 52, 55, 56) or a
// timeout (28). A timeout halves at once; refusals halve when they come
// in a burst.
func (s *sched) failedConn(h string, ticket uint64, code int) {
	st := s.host(h)
	st.record(code != curlTimeout)
	if code == curlTimeout {
		st.stat.Timeouts++
		st.halve(ticket, s.tickets, s.transferCap(h))
	} else {
		st.stat.ConnFails++
		if bits.OnesCount8(st.recent) >= connBurst {
			st.failedAt(s.tickets)
			st.halve(ticket, s.tickets, s.transferCap(h))
		}
	}
	st.ended(ticket)
}

// failedOther: an end that says nothing of the host's load.
func (s *sched) failedOther(h string, ticket uint64) {
	st := s.host(h)
	st.record(false)
	st.ended(ticket)
}

// forget: a transfer stopped without a verdict (its split given up, the
// run stopping) says nothing of the host; if it was the probe, the next
// transfer probes instead, else the host would wait for it forever.
func (s *sched) forget(h string, ticket uint64) {
	if st := s.hosts[h]; st != nil && st.probing && st.probe == ticket {
		st.probe = 0
	}
}

// hostStats lists the hosts that throttled this run.
func (s *sched) hostStats() []HostStats {
	var out []HostStats
	for _, st := range s.hosts {
		if st.stat.Throttled() {
			out = append(out, st.stat)
		}
	}
	return out
}

// pauseEnds is the earliest end of a pause still running, for sched.wake.
func (s *sched) pauseEnds(now time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	for st := range s.paused {
		if !st.pausedUntil.After(now) {
			delete(s.paused, st)
			continue
		}
		if !found || st.pausedUntil.Before(next) {
			next, found = st.pausedUntil, true
		}
	}
	return next, found
}

// hostFeedback tells the scheduler how t ended, before it stops counting
// for its host (the halving starts from what runs, t included).
func (e *engine) hostFeedback(t *transfer, f *attemptFacts, v verdict) {
	switch {
	case (f.httpCode == 429 || f.httpCode == 503) && (f.state == stateRejected || f.curlCode == 0):
		wait := v.retryAfter
		if wait <= 0 {
			n := t.job.tries.rounds
			if t.seg != nil {
				n = t.seg.attempts
			}
			wait = e.backoff(max(n, 1), 0)
		}
		e.sch.throttled(t.host, t.ticket, f.httpCode, wait)
	case v.kind == vOK || v.kind == vCompleted:
		e.sch.succeeded(t.host, t.ticket)
	case loadFailure(f.curlCode):
		e.sch.failedConn(t.host, t.ticket, f.curlCode)
	default:
		e.sch.failedOther(t.host, t.ticket)
	}
}

// loadFailure: curl codes a host gives when it takes no more connections
// (refused, reset while sending or receiving, closed with nothing said)
// or serves too slowly (timeout, stall).
func loadFailure(code int) bool {
	switch code {
	case 7, 52, 55, 56, curlTimeout:
		return true
	}
	return false
}
