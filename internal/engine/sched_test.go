package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	hostA = "http://a:80"
	hostB = "http://b:80"
)

func TestSchedHostCounts(t *testing.T) {
	s := newSched(2, 0, defaultStreams, Tuning{})
	s.take(hostA, false)
	if !s.hostFree(hostA) {
		t.Fatal("one of two taken: host should have room")
	}
	s.take(hostA, false)
	if s.hostFree(hostA) || !s.hostFree(hostB) {
		t.Fatal("a full host, or another host, is misjudged")
	}
	s.release(hostA, false)
	s.release(hostA, false)
	if len(s.hosts) != 0 {
		t.Errorf("hosts not forgotten at zero: %v", s.hosts)
	}
	open := newSched(0, 0, defaultStreams, Tuning{})
	for i := 0; i < 100; i++ {
		open.take(hostA, false)
	}
	if !open.hostFree(hostA) || open.hosts[hostA].running != 100 {
		t.Errorf("without --per-host a host is never full, and still counted: %v", open.hosts)
	}
}

func TestSchedRetriesAreSortedByDue(t *testing.T) {
	s := newSched(0, 0, defaultStreams, Tuning{})
	t0 := time.Unix(1000, 0)
	for _, d := range []int{3, 1, 2, 1} {
		s.queueRetry(&job{host: hostA, entry: Entry{Source: fmt.Sprint(d)}}, t0.Add(time.Duration(d)*time.Second))
	}
	var got []string
	for _, j := range s.retries {
		got = append(got, j.entry.Source)
	}
	if strings.Join(got, ",") != "1,1,2,3" {
		t.Errorf("retries in order %v", got)
	}
}

func TestSchedNext(t *testing.T) {
	t0 := time.Unix(1000, 0)
	src := func(j *job) string {
		if j == nil {
			return "none"
		}
		return j.entry.Source
	}
	s := newSched(1, 0, defaultStreams, Tuning{})
	s.queueRetry(&job{host: hostA, entry: Entry{Source: "retryA"}}, t0)
	s.queueRetry(&job{host: hostB, entry: Entry{Source: "retryB-later"}}, t0.Add(time.Second))
	s.wait(&job{host: hostA, entry: Entry{Source: "waitA"}})
	s.wait(&job{host: hostB, entry: Entry{Source: "waitB"}})
	s.take(hostA, false)
	// hostA is full: its due retry and its waiting entry stay; the retry
	// on hostB is not due: the entry waiting for hostB goes first.
	if got := src(s.next(t0, false)); got != "waitB" {
		t.Fatalf("next = %s, want waitB", got)
	}
	s.release(hostA, false)
	if got := src(s.next(t0, false)); got != "retryA" {
		t.Fatalf("next = %s, want retryA (a due retry before a waiting entry)", got)
	}
	if got := src(s.next(t0, false)); got != "waitA" {
		t.Fatalf("next = %s, want waitA", got)
	}
	if got := src(s.next(t0, false)); got != "none" {
		t.Fatalf("next = %s, want none: the last retry is not due", got)
	}
	if got := src(s.next(t0.Add(time.Second), false)); got != "retryB-later" {
		t.Fatalf("next = %s, want retryB-later once due", got)
	}
	if !s.idle() {
		t.Error("queues not empty")
	}
}

func TestSchedWake(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSched(1, 0, defaultStreams, Tuning{})
	if _, ok := s.wake(t0, true); ok {
		t.Fatal("nothing waits, yet a wake time")
	}
	s.queueRetry(&job{host: hostA}, t0.Add(3*time.Second))
	split := &job{host: hostB, segs: []*segment{
		{start: 0, end: 10, done: 10},                                       // finished
		{start: 10, end: 20, due: t0.Add(time.Second)},                      // waiting for its backoff
		{start: 20, end: 30, due: t0.Add(time.Millisecond), t: &transfer{}}, // running
	}}
	s.splits[split] = struct{}{}
	if w, ok := s.wake(t0, true); !ok || !w.Equal(t0.Add(time.Second)) {
		t.Errorf("wake = %v %v, want the range's due in 1s", w.Sub(t0), ok)
	}
	delete(s.splits, split)
	if w, ok := s.wake(t0, true); !ok || !w.Equal(t0.Add(3*time.Second)) {
		t.Errorf("wake = %v %v, want the retry's due in 3s", w.Sub(t0), ok)
	}
	if _, ok := s.wake(t0, false); ok {
		t.Error("a retry wakes the loop while no -j slot is free")
	}
	// Due work on a full host waits for a transfer to end, not the clock.
	s.take(hostA, false)
	if _, ok := s.wake(t0.Add(5*time.Second), true); ok {
		t.Error("a due retry on a full host asks for a wake")
	}
	s.release(hostA, false)
	if w, ok := s.wake(t0.Add(5*time.Second), true); !ok || !w.Equal(t0.Add(5*time.Second)) {
		t.Errorf("a due retry on a free host: wake %v %v, want now", w, ok)
	}
	// A range counts for the host it is fetched from.
	split.segURL, split.segHost = "http://a/x", hostA
	s.splits[split] = struct{}{}
	s.take(hostA, false)
	if w, ok := s.wake(t0.Add(2*time.Second), false); ok {
		t.Errorf("a due range on a full host: wake %v", w)
	}
}

func TestSchedStartRanges(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newSched(2, 0, defaultStreams, Tuning{})
	j := &job{host: hostA, segs: []*segment{
		{start: 0, end: 10, t: &transfer{}}, // the probe, still running
		{start: 10, end: 20},
		{start: 20, end: 30, due: t0.Add(time.Second)},
		{start: 30, end: 40},
		{start: 40, end: 50},
	}}
	s.splits[j] = struct{}{}
	s.take(hostA, false) // the probe
	var started []int64
	start := func(j *job, g *segment) {
		if !s.hostFree(j.rangeHost()) {
			return
		}
		s.take(j.rangeHost(), false)
		g.t = &transfer{}
		started = append(started, g.start)
	}
	s.startRanges(t0, start)
	if fmt.Sprint(started) != "[10]" {
		t.Fatalf("started %v, want [10]: the host has room for one range beside the probe", started)
	}
	s.release(hostA, false) // the probe ends
	j.segs[0].t, j.segs[0].done = nil, 10
	s.startRanges(t0, start)
	if fmt.Sprint(started) != "[10 30]" {
		t.Fatalf("started %v, want [10 30]: the probe's connection goes to the next range due", started)
	}
}

// Streams to a host known to multiplex take a connection per started
// --streams of them, against -j (mux.saved) and --per-host alike.
func TestSchedStreamsCountPerConnection(t *testing.T) {
	s := newSched(3, 0, 3, Tuning{})
	s.mux.oneConn = false
	s.take(hostA, false) // started before hostA was known to multiplex
	s.mux.learn(hostA)
	for i := 1; i <= 5; i++ {
		if !s.entryFree(hostA) {
			t.Fatalf("stream %d refused: conns %d", i, s.conns(hostA))
		}
		s.take(hostA, true)
	}
	// One connection for the first transfer, two for five streams of 3.
	if s.conns(hostA) != 3 || s.mux.saved() != 3 || s.mux.openRoom(hostA) != true {
		t.Fatalf("conns %d saved %d room %v, want 3, 3, true", s.conns(hostA), s.mux.saved(), s.mux.openRoom(hostA))
	}
	s.take(hostA, true) // the sixth fills the second connection
	if s.entryFree(hostA) || s.startable(hostA, true) {
		t.Fatal("a fourth connection allowed under --per-host 3")
	}
	s.release(hostA, false)
	if !s.entryFree(hostA) || s.startable(hostA, true) {
		t.Fatal("room for a new connection misjudged: free under --per-host, but it needs a -j slot")
	}
	for i := 0; i < 6; i++ {
		s.release(hostA, true)
	}
	if len(s.hosts) != 0 || len(s.mux.streams) != 0 || s.mux.slots != 0 || s.mux.open != 0 || s.mux.running != 0 {
		t.Errorf("counts left at zero streams: %+v %+v", s.hosts, s.mux)
	}
}
