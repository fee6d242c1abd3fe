package engine

// The scheduler: every queue of the engine (entries waiting for their host,
// retries waiting for their backoff, ranges waiting for theirs), the
// connections each host has, and when the loop must wake next. It never
// calls libcurl: the loop asks it what to start and reports what ended.

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

type sched struct {
	perHost  int                     // --per-host, 0 = no cap
	hosts    map[string]*hostState   // per hostKey (host.go)
	tickets  uint64                  // transfers started so far: each one's ticket
	maxPause time.Duration           // --retry-max-delay: the longest a host is paused
	paused   map[*hostState]struct{} // hosts whose pause may still run
	now      func() time.Time
	waiting  []*job              // entries waiting for their host (or a -j slot) to have room
	queued   map[string]int      // waiting, per host
	retries  []*job              // waiting for their backoff, sorted by due
	splits   map[*job]struct{}   // split downloads in progress (their ranges wait in segs)
	mux      multiplexing        // hosts whose transfers share connections as streams (mux.go)
	busy     map[string]struct{} // next: hosts found with no room, in this call
}

func newSched(perHost int, maxPause time.Duration, streams int, t Tuning) sched {
	return sched{perHost: perHost, maxPause: maxPause, now: time.Now,
		hosts: make(map[string]*hostState), paused: make(map[*hostState]struct{}), splits: make(map[*job]struct{}),
		busy: make(map[string]struct{}), queued: make(map[string]int),
		mux: newMultiplexing(streams, t)}
}

// running is how many transfers host h has, ranges and streams included.
func (s *sched) running(h string) int {
	if st := s.hosts[h]; st != nil {
		return st.running
	}
	return 0
}

// conns is what host h counts against --per-host: its transfers, except
// that streams count a connection per started --streams of them.
func (s *sched) conns(h string) int { return s.running(h) - s.mux.streams[h] + s.mux.connsOf(h) }

// transferCap is the most transfers --per-host lets h run: N connections,
// each of --streams transfers on a host known to multiplex; 0 = no cap.
// The host's own limit (host.go) counts transfers, requests in flight.
func (s *sched) transferCap(h string) int {
	if s.perHost > 0 && s.mux.known[h] {
		return s.perHost * s.mux.perConn(h)
	}
	return s.perHost
}

// hostFree says whether host h may have one more connection of this run.
// Every transfer counts for its host, a range of a split download too, so
// that --per-host N means N connections, whatever they fetch.
func (s *sched) hostFree(h string) bool {
	return (s.perHost <= 0 || s.conns(h) < s.perHost) && s.loadFree(h)
}

// loadFree says whether what host h said of its load lets one more
// transfer start: not paused by a 429 or 503, not waiting for its probe,
// under its limit (host.go).
func (s *sched) loadFree(h string) bool {
	st := s.hosts[h]
	if st == nil {
		return true
	}
	var now time.Time // the clock is read only for a host that was paused: next calls this per waiting entry
	if !st.pausedUntil.IsZero() {
		now = s.now()
	}
	return st.free(now, 0) // --per-host is counted in connections, above
}

// entryFree says whether a whole-file transfer to h may start: on a host
// known to multiplex it is a stream, free while a connection has room; an
// https host not known to multiplex or not takes a first wave (mux.go).
func (s *sched) entryFree(h string) bool {
	if !s.mux.settingsRoom(h) {
		return false
	}
	if s.mux.openRoom(h) {
		return s.loadFree(h)
	}
	if s.mux.inWave(h) && s.running(h) >= firstWave {
		return false
	}
	return s.mux.newConnOK(h, s.queued[h]) && s.hostFree(h)
}

// startable says whether a whole-file transfer to h may start now; full
// says every -j slot is taken, and then only a stream on a connection
// with room may.
func (s *sched) startable(h string, full bool) bool {
	if full {
		return s.mux.openRoom(h) && s.mux.settingsRoom(h) && s.loadFree(h)
	}
	return s.entryFree(h)
}

// take counts a transfer starting on h, as a stream or a connection; its
// ticket goes with the report of how it ended (throttled, succeeded,
// failedConn, failedOther).
func (s *sched) take(h string, stream bool) uint64 {
	s.tickets++
	st := s.host(h)
	var now time.Time // the clock matters only to a host waiting for its probe
	if st.probing {
		now = s.now()
	}
	st.take(s.tickets, now)
	if stream {
		s.mux.take(h)
	}
	return s.tickets
}

func (s *sched) release(h string, stream bool) {
	if stream {
		s.mux.release(h)
	}
	s.mux.settle(h) // whatever it ended with, its host's first wave is over
	s.mux.heard(h)
	st := s.hosts[h]
	if st == nil {
		return
	}
	if st.running--; st.pristine() {
		delete(s.hosts, h)
	}
}

// wait puts j in line for its host.
func (s *sched) wait(j *job) {
	s.waiting = append(s.waiting, j)
	s.queued[j.host]++
}

// queueRetry puts j among the waiting retries, kept sorted by due.
func (s *sched) queueRetry(j *job, due time.Time) {
	j.due = due
	i := sort.Search(len(s.retries), func(i int) bool { return s.retries[i].due.After(due) })
	s.retries = slices.Insert(s.retries, i, j)
}

// next takes the job to start now out of its queue: first a retry whose
// backoff is over, then an entry that waited for its host; nil when none
// may start (each needs room on its host; with every -j slot taken, full,
// only a stream with room on its connection may).
func (s *sched) next(now time.Time, full bool) *job {
	// Whether an entry may start depends on its host alone: each host is
	// asked once per call, not once per entry waiting for it (hundreds,
	// when one host is at its limit).
	clear(s.busy)
	may := func(h string) bool {
		if _, no := s.busy[h]; no {
			return false
		}
		if s.startable(h, full) {
			return true
		}
		s.busy[h] = struct{}{}
		return false
	}
	for i, j := range s.retries {
		if j.due.After(now) {
			break // sorted: none later is due either
		}
		if may(j.host) {
			s.retries = slices.Delete(s.retries, i, i+1)
			return j
		}
	}
	for i, j := range s.waiting {
		if may(j.host) {
			s.waiting = slices.Delete(s.waiting, i, i+1)
			if s.queued[j.host]--; s.queued[j.host] <= 0 {
				delete(s.queued, j.host)
			}
			return j
		}
	}
	return nil
}

// waitingRange says whether range g of j waits to start: not running, not
// finished.
func waitingRange(g *segment) bool { return g.t == nil && !g.finished() }

// startRanges calls start for every waiting range whose backoff is over
// and whose host has room, in order, so the first range of a split takes
// the connection its probe gave up.
func (s *sched) startRanges(now time.Time, start func(*job, *segment)) {
	for j := range s.splits {
		for _, g := range j.segs {
			if _, h := j.segmentURL(g); waitingRange(g) && !g.due.After(now) && s.hostFree(h) {
				start(j, g)
			}
		}
	}
}

// wake is when the loop must look at the queues again, false when nothing
// waits for the clock. Work whose time has come but whose host is full is
// left out: a transfer ending (which wakes the loop anyway) is what lets it
// start. Retries count only while a -j slot is free (slotFree) or their
// host has a connection with room for a stream.
func (s *sched) wake(now time.Time, slotFree bool) (time.Time, bool) {
	var next time.Time
	found := false
	consider := func(due time.Time, free bool) {
		if !due.After(now) {
			if !free {
				return
			}
			due = now
		}
		if !found || due.Before(next) {
			next, found = due, true
		}
	}
	if slotFree || s.mux.open > 0 {
		for _, j := range s.retries {
			if slotFree || s.mux.openRoom(j.host) {
				consider(j.due, s.startable(j.host, !slotFree))
			}
			if j.due.After(now) {
				break
			}
		}
	}
	for j := range s.splits {
		for _, g := range j.segs {
			if waitingRange(g) {
				_, h := j.segmentURL(g)
				consider(g.due, s.hostFree(h))
			}
		}
	}
	// A pause ending lets work start with no transfer ending to say so,
	// and so does a host's wait for its SETTINGS (settings.go).
	if p, ok := s.pauseEnds(now); ok {
		consider(p, true)
	}
	for _, until := range s.mux.unheard {
		consider(until, true)
	}
	return next, found
}

// idle says whether no queue holds anything.
func (s *sched) idle() bool { return len(s.waiting) == 0 && len(s.retries) == 0 && len(s.splits) == 0 }

// scheduleRetry puts j back in line after its backoff: the delay doubles
// from RetryDelay with jitter, is at least the server's Retry-After, and
// never exceeds RetryMaxDelay. A waiting retry holds no slot.
func (e *engine) scheduleRetry(j *job, retryAfter time.Duration) {
	e.queueRetry(j, time.Now().Add(e.backoff(j.tries.rounds, retryAfter)))
}

// retryNow puts j in line for the next free slot without a backoff.
func (e *engine) retryNow(j *job) { e.queueRetry(j, time.Now()) }

func (e *engine) queueRetry(j *job, due time.Time) {
	e.setState(j, stBackoff)
	e.sch.queueRetry(j, due)
}

// backoff is the wait before the attempt after attempts.
func (e *engine) backoff(attempts int, retryAfter time.Duration) time.Duration {
	d := e.cfg.RetryDelay
	for i := 1; i < attempts && d < e.cfg.RetryMaxDelay; i++ {
		d *= 2
	}
	// Jitter in [d/2, d) spreads retries of many entries failing together.
	if d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	// Retry-After R: a wait in [R, 1.5 R], never sooner than the server
	// asked, and spread as widely as the backoff: entries told the same R
	// at the same moment (a 503 to all of them) must not return together.
	if retryAfter > d {
		d = retryAfter + rand.N(retryAfter/2+1)
	}
	if e.cfg.RetryMaxDelay > 0 && d > e.cfg.RetryMaxDelay {
		d = e.cfg.RetryMaxDelay
	}
	return d
}

// hostKey names what the scheduler counts connections per, and what
// credentials are kept to: scheme, host and port.
func hostKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	case "ftp":
		return "21"
	case "ftps":
		return "990"
	}
	return ""
}
