package engine

// The loop: add transfers while slots are free, wait, perform, drain
// info_read, and the checks made between performs.

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	curl "github.com/andelf/go-curl"
	"golang.org/x/sys/unix"
)

func (e *engine) loop(ctx context.Context) {
	for {
		if e.stopReason == "" && ctx.Err() != nil {
			reason := "interrupted"
			var sc *StopCause
			if errors.As(context.Cause(ctx), &sc) {
				reason = sc.Reason
			}
			e.stop(reason)
			e.stats.Interrupted = true
		}
		e.collectVerified(false)
		e.collectLinks(false)
		if e.stopReason != "" {
			e.stats.StopReason = e.stopReason
			e.abortAll()
			for e.verifying > 0 {
				e.collectVerified(true)
			}
			for len(e.linking) > 0 {
				e.collectLinks(true)
			}
			return
		}
		e.fill(ctx)
		if e.stopReason != "" {
			continue
		}
		if len(e.active) == 0 && len(e.linking) > 0 {
			// Only files being named are left (or the next entries wait
			// for their results): that takes microseconds.
			e.collectLinks(true)
			continue
		}
		if len(e.active) == 0 {
			if e.inDone && e.bi >= len(e.batch) && e.sch.idle() && e.verifying == 0 {
				return
			}
			e.idle(ctx)
			continue
		}
		e.shareRates()
		e.yield()
		e.wait()
		_, err := e.multi.Perform()
		if err != nil {
			// A multi-level error leaves no transfer trustworthy.
			e.stop("libcurl: " + err.Error())
			continue
		}
		e.drain()
		e.watchConns()
		e.syncStreamCap()
		if len(e.linking) > 0 {
			linkKick()
		}
		e.checkSplits()
		e.recordMeta()
		e.checkStalls()
		e.maybeProgress(false)
	}
}

// yield lets the scheduler see the loop goroutine rescheduled every few
// milliseconds. A goroutine that never parks (this one only leaves Go for
// libcurl and select) is judged to hog its P after 10 ms: sysmon then takes
// the P away during the next C call and, having taken one, wakes every
// 20 us for the next millisecond or so, each wake a context switch on the
// core the server shares. A Gosched every 5 ms costs far less.
func (e *engine) yield() {
	if now := time.Now(); now.Sub(e.lastYield) >= 5*time.Millisecond {
		e.lastYield = now
		runtime.Gosched()
	}
}

// idle blocks while nothing runs: until an entry arrives, a retry is due,
// a verification ends, or the context is cancelled.
func (e *engine) idle(ctx context.Context) {
	var in <-chan []Entry
	if !e.inDone && len(e.sch.waiting) < e.deferLimit() && e.bi >= len(e.batch) {
		in = e.in
	}
	var timer <-chan time.Time
	if next, ok := e.sch.wake(time.Now(), e.slots() < e.cfg.Parallel); ok {
		t := time.NewTimer(time.Until(next))
		defer t.Stop()
		timer = t.C
	}
	select {
	case b, ok := <-in:
		if !ok {
			e.inDone = true
		} else {
			e.batch, e.bi = b, 0
		}
	case <-timer:
	case v := <-e.verified:
		e.finishVerify(v)
	case <-ctx.Done():
	}
}

// fill starts transfers while slots are free: first the ranges whose
// backoff is over (they hold no -j slot of their own), then what the
// scheduler says is next (retries due, entries that waited for their
// host), then new entries from the input, without blocking.
func (e *engine) fill(ctx context.Context) {
	now := time.Now()
	e.sch.mux.slack = max(e.cfg.Parallel-e.slots(), 0)
	e.sch.startRanges(now, e.startSegment)
	// Once the queues have nothing that may start, they have nothing for
	// the rest of this fill: starting an entry only takes room, and
	// whether one may start depends only on its host and on full, which
	// never turns back (sched.next).
	drained := false
	for e.stopReason == "" && !e.atInFlightCap() {
		// With every -j slot taken, only a stream on a connection with
		// room may start; with more taken (the stream that found its
		// server's limit opened one more, mux.go), none.
		slots := e.slots()
		full := slots >= e.cfg.Parallel
		if full && (e.sch.mux.open == 0 || slots > e.cfg.Parallel) {
			return
		}
		if !drained {
			if j := e.sch.next(now, full); j != nil {
				e.attempt(j)
				continue
			}
			drained = true
		}
		if len(e.sch.waiting) >= e.deferLimit() || ctx.Err() != nil {
			return
		}
		if e.bi < len(e.batch) {
			en := e.batch[e.bi]
			e.batch[e.bi] = Entry{} // the batch's array must not pin finished entries
			e.bi++
			e.admit(en, full)
			continue
		}
		if e.inDone {
			return
		}
		select {
		case b, ok := <-e.in:
			if !ok {
				e.inDone = true
				return
			}
			e.batch, e.bi = b, 0
		default:
			return
		}
	}
}

// deferLimit bounds the entries read ahead while waiting for their host
// (--per-host) or a -j slot (while streams fill a connection): enough to
// keep -j slots busy across many hosts, but never hundreds of thousands of
// entries in memory for a huge -j.
func (e *engine) deferLimit() int {
	return min(max(4*e.cfg.Parallel, 256), 16384)
}

// atInFlightCap says whether the transfers running reach what the
// descriptor limit allows (Config.InFlight): streams share a socket, but
// each still holds its output file and its hold on NAME.part.
func (e *engine) atInFlightCap() bool { return e.cfg.InFlight > 0 && len(e.active) >= e.cfg.InFlight }

// admit handles an entry fresh from the input: entries that need no
// transfer get their result at once, others start or wait for their host
// (or, with every -j slot taken, full, for a slot).
func (e *engine) admit(en Entry, full bool) {
	if en.Invalid != nil {
		e.result(Result{Source: en.Source, URL: en.AsWritten(), Status: StatusInvalid, Error: en.Invalid.Error()})
		return
	}
	if e.cfg.NoClobber {
		if _, err := os.Lstat(en.Path); err == nil {
			e.result(Result{Source: en.Source, URL: en.AsWritten(), Path: en.Path, Status: StatusSkipped,
				Error: "target exists (--no-clobber)"})
			return
		}
	}
	h := hostKey(en.URL)
	j := &job{entry: en, begin: time.Now(), host: h, origin: h, roundTried: 1}
	if e.cfg.Continue {
		e.loadResume(j)
	}
	if e.checkExisting(j) {
		return
	}
	if !e.sch.startable(j.host, full) {
		e.setState(j, stWaitHost)
		e.sch.wait(j)
		return
	}
	e.attempt(j)
}

// slots counts what -j limits: connections. A transfer is one, except
// that streams to a host known to multiplex take one per started --streams
// of them (mux.go); a split download is one entry however many ranges it
// runs.
func (e *engine) slots() int { return e.plain + len(e.sch.splits) - e.sch.mux.saved() }

// wait sleeps until a socket is ready or libcurl's next timeout, at most
// maxWait, and no longer than the scheduler's next wake. select(2) sees only
// descriptors below FD_SETSIZE, and curl_multi_fdset silently leaves out
// the others, so whenever libcurl holds such a socket the loop waits in
// curl_multi_poll instead.
func (e *engine) wait() {
	tmo := maxWait
	if ms, err := e.multi.Timeout(); err == nil && ms >= 0 && time.Duration(ms)*time.Millisecond < tmo {
		tmo = time.Duration(ms) * time.Millisecond
	}
	if next, ok := e.sch.wake(time.Now(), e.slots() < e.cfg.Parallel); ok {
		if d := time.Until(next); d < tmo {
			tmo = max(d, 0)
		}
	}
	if tmo == 0 {
		return
	}
	if highSockets() > 0 {
		e.stats.PollWaits++
		_ = multiPoll(e.multiPtr(), int(tmo.Milliseconds()))
		return
	}
	var r, w, x syscall.FdSet
	maxfd, err := e.multi.Fdset(&r, &w, &x)
	if err != nil {
		return
	}
	e.stats.SelectWaits++
	if maxfd < 0 {
		// libcurl has nothing to wait on yet (resolving, backing off):
		// sleep until its timeout, as its documentation asks.
		time.Sleep(tmo)
		return
	}
	tv := unix.NsecToTimeval(tmo.Nanoseconds())
	// EINTR and friends just end the wait early; perform sorts it out.
	_, _ = unix.Select(maxfd+1, (*unix.FdSet)(unsafe.Pointer(&r)), (*unix.FdSet)(unsafe.Pointer(&w)),
		(*unix.FdSet)(unsafe.Pointer(&x)), &tv)
}

// drain handles every finished transfer. A handle that fails at once shows
// up here too, so none is lost.
func (e *engine) drain() {
	for {
		msg, _ := e.multi.Info_read()
		if msg == nil {
			return
		}
		if msg.Msg != curl.CURLMSG_DONE {
			continue
		}
		key := uintptr(msg.Easy_handle.GetHandle())
		t, ok := e.active[key]
		if !ok {
			continue
		}
		code := int(binary.NativeEndian.Uint32(msg.Data[:4]))
		e.learnMux(t)
		e.bufs.ended(t.host, t.seg != nil, t.x.bytes())
		e.complete(t, code)
	}
}

// checkStalls ends transfers that have received nothing for StallTimeout;
// they are then retried like any timeout. One whose request has not gone
// out (no pretransfer time yet) is waiting inside libcurl for a connection
// with room (--per-host is also libcurl's cap, engine.go; or PIPEWAIT),
// not stalled: libcurl's connect timeout covers a connection being set up,
// and its clock starts again.
func (e *engine) checkStalls() {
	if e.cfg.StallTimeout <= 0 {
		return
	}
	now := time.Now()
	var stalled []*transfer
	for _, t := range e.active {
		if b := t.x.bytes(); b != t.seenBytes {
			t.seenBytes, t.seenAt = b, now
			continue
		}
		if now.Sub(t.seenAt) >= e.cfg.StallTimeout {
			if v, err := t.easy.Getinfo(curl.INFO_PRETRANSFER_TIME); err == nil && v.(float64) == 0 {
				t.seenAt = now
				continue
			}
			stalled = append(stalled, t)
		}
	}
	for _, t := range stalled {
		t.stalled = true
		e.complete(t, 28)
	}
}
