package engine

// The per-host state machine (host.go) on a clock of the test's own.

import (
	"testing"
	"time"
)

// clockSched is a scheduler whose clock the test moves.
func clockSched(perHost int, maxPause time.Duration) (*sched, *time.Time) {
	s := newSched(perHost, maxPause, defaultStreams, Tuning{})
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	return &s, &now
}

func takeN(s *sched, h string, n int) []uint64 {
	var t []uint64
	for i := 0; i < n; i++ {
		t = append(t, s.take(h, false))
	}
	return t
}

func TestHostHalvesOncePerRound(t *testing.T) {
	s, _ := clockSched(0, 0)
	tickets := takeN(s, hostA, 40)
	for _, tk := range tickets {
		s.throttled(hostA, tk, 429, time.Second)
	}
	st := s.hosts[hostA]
	if st.limit != 20 {
		t.Fatalf("40 simultaneous 429s: limit %d, want 20 (halved once)", st.limit)
	}
	for range tickets {
		s.release(hostA, false)
	}
	// A transfer started after the halving is the next round.
	tk := s.take(hostA, false)
	s.throttled(hostA, tk, 503, time.Second)
	if st.limit != 10 || st.stat.Lowest != 10 || st.stat.Peak != 40 {
		t.Errorf("next round: limit %d lowest %d peak %d, want 10, 10, 40", st.limit, st.stat.Lowest, st.stat.Peak)
	}
	if st.stat.Throttles[429] != 40 || st.stat.Throttles[503] != 1 {
		t.Errorf("throttles counted %v", st.stat.Throttles)
	}
	if s.hostFree(hostB) != true || s.hosts[hostB] != nil {
		t.Error("another host is affected")
	}
}

func TestHostGrowsToCap(t *testing.T) {
	s, now := clockSched(6, 0)
	tk := s.take(hostA, false)
	s.throttled(hostA, tk, 429, time.Second) // alone: no ceiling, limit 1
	s.release(hostA, false)
	*now = now.Add(time.Second)
	for want := 2; want <= 8; want++ {
		tk := s.take(hostA, false)
		s.succeeded(hostA, tk)
		s.release(hostA, false)
		if got, w := s.hosts[hostA].limit, min(want, 6); got != w {
			t.Fatalf("after %d successes: limit %d, want %d", want-1, got, w)
		}
	}
}

func TestHostRefusalBurst(t *testing.T) {
	s, _ := clockSched(0, 0)
	tickets := takeN(s, hostA, 8)
	s.failedConn(hostA, tickets[0], 56)
	st := s.hosts[hostA]
	if st.limit != 0 {
		t.Fatalf("one reset halved the limit to %d", st.limit)
	}
	s.failedConn(hostA, tickets[1], 7)
	if st.limit != 4 {
		t.Fatalf("a burst of two among 8 running: limit %d, want 4", st.limit)
	}
	if st.ceiling != 7 {
		t.Errorf("ceiling %d, want 7 (failed with 8 at once)", st.ceiling)
	}
	s.failedConn(hostA, tickets[2], 7) // same round
	if st.limit != 4 {
		t.Errorf("a failure of the same round halved again: %d", st.limit)
	}
	for range tickets[3:] {
		s.succeeded(hostA, tickets[3])
	}
	if st.limit != 7 {
		t.Errorf("grown past the concurrency that failed: %d, want 7", st.limit)
	}
	tk := s.take(hostA, false)
	s.failedConn(hostA, tk, curlTimeout) // a timeout halves alone
	if st.limit != 3 || st.stat.Timeouts != 1 || st.stat.ConnFails != 3 {
		t.Errorf("after a timeout: limit %d, %+v", st.limit, st.stat)
	}
}

func TestHostPauseAndProbe(t *testing.T) {
	s, now := clockSched(0, 0)
	t0 := *now
	tickets := takeN(s, hostA, 3)
	s.throttled(hostA, tickets[0], 429, 2*time.Second)
	s.release(hostA, false)
	if s.hostFree(hostA) {
		t.Fatal("a paused host has room")
	}
	if !s.hostFree(hostB) {
		t.Fatal("another host is paused")
	}
	if w, ok := s.wake(*now, true); !ok || !w.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("wake %v %v, want the pause's end", w, ok)
	}
	*now = t0.Add(time.Second)
	s.succeeded(hostA, tickets[1]) // running before the pause: no probe
	s.release(hostA, false)
	if s.hostFree(hostA) {
		t.Fatal("a transfer older than the pause ended it")
	}
	*now = t0.Add(2 * time.Second)
	if !s.hostFree(hostA) {
		t.Fatal("pause over: no room for the probe")
	}
	probe := s.take(hostA, false)
	if s.hostFree(hostA) {
		t.Fatal("room beside the probe")
	}
	// The probe is told 429 again: a longer pause.
	s.throttled(hostA, probe, 429, 2*time.Second)
	s.release(hostA, false)
	*now = t0.Add(5 * time.Second)
	if s.hostFree(hostA) {
		t.Fatal("a second pause no longer than the first")
	}
	*now = t0.Add(6 * time.Second)
	probe = s.take(hostA, false)
	if s.hostFree(hostA) {
		t.Fatal("room beside the second probe")
	}
	s.succeeded(hostA, probe)
	s.release(hostA, false)
	if !s.hostFree(hostA) {
		t.Fatalf("the probe succeeded but the host stays closed: %+v", *s.hosts[hostA])
	}
	st := s.hosts[hostA]
	if st.stat.Paused != 6*time.Second {
		t.Errorf("paused %v, want 6s", st.stat.Paused)
	}
	hs := s.hostStats()
	if len(hs) != 1 || hs[0].Host != hostA || !hs[0].Throttled() {
		t.Errorf("host stats %+v", hs)
	}
}

func TestHostPauseCap(t *testing.T) {
	s, now := clockSched(0, 3*time.Second)
	tk := s.take(hostA, false)
	s.throttled(hostA, tk, 503, time.Minute)
	if got := s.hosts[hostA].pausedUntil.Sub(*now); got != 3*time.Second {
		t.Errorf("paused for %v, want the --retry-max-delay of 3s", got)
	}
}

// A probe stopped without a verdict (its split given up) lets the next
// transfer probe.
func TestHostProbeForgotten(t *testing.T) {
	s, now := clockSched(0, 0)
	tk := s.take(hostA, false)
	s.throttled(hostA, tk, 429, time.Second)
	s.release(hostA, false)
	*now = now.Add(time.Second)
	probe := s.take(hostA, false)
	s.forget(hostA, probe)
	s.release(hostA, false)
	if !s.hostFree(hostA) {
		t.Fatal("the host waits for a probe that was stopped")
	}
	next := s.take(hostA, false)
	if s.hostFree(hostA) || s.hosts[hostA].probe != next {
		t.Error("the next transfer is not the probe")
	}
}

// The probe needs room under the limit like any transfer: transfers that
// ran through the pause still count.
func TestHostProbeWaitsForRoom(t *testing.T) {
	s, now := clockSched(0, 0)
	tickets := takeN(s, hostA, 4)
	s.throttled(hostA, tickets[0], 429, time.Second) // limit 2
	s.release(hostA, false)
	*now = now.Add(time.Second)
	if s.hostFree(hostA) {
		t.Fatal("3 running over a limit of 2, and the probe may start")
	}
	s.succeeded(hostA, tickets[1])
	s.release(hostA, false)
	s.succeeded(hostA, tickets[2])
	s.release(hostA, false)
	if !s.hostFree(hostA) {
		t.Fatal("room under the limit, but no probe may start")
	}
}

// Refusals that some transfers survive set a ceiling where the survivors
// are; refusals of everything running (an outage) set none once a
// transfer started after them succeeds, and the limit grows back.
func TestHostCeilingAfterBurst(t *testing.T) {
	for _, tc := range []struct {
		name     string
		survive  bool
		want     int // ceiling once the first success is in
		grownTop int // transfers allowed at once after 40 more successes
	}{
		{"four survive", true, 4, 4},
		{"outage", false, 0, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := clockSched(16, 0)
			tickets := takeN(s, hostA, 16)
			failing := tickets
			if tc.survive {
				failing = tickets[4:]
			}
			for _, tk := range failing {
				s.failedConn(hostA, tk, 56)
				s.release(hostA, false)
			}
			st := s.hosts[hostA]
			if low := max(1, 16-len(failing)); st.ceiling != low {
				t.Fatalf("after the burst: ceiling %d, want %d (what still runs)", st.ceiling, low)
			}
			if tc.survive {
				for _, tk := range tickets[:4] {
					s.succeeded(hostA, tk)
					s.release(hostA, false)
				}
			} else {
				tk := s.take(hostA, false) // a retry, after the burst
				s.succeeded(hostA, tk)
				s.release(hostA, false)
			}
			if st.ceiling != tc.want {
				t.Fatalf("after a success: ceiling %d, want %d", st.ceiling, tc.want)
			}
			for i := 0; i < 40; i++ {
				tk := s.take(hostA, false)
				s.succeeded(hostA, tk)
				s.release(hostA, false)
			}
			allowed := st.limit
			if st.ceiling > 0 && st.ceiling < allowed {
				allowed = st.ceiling
			}
			if allowed != tc.grownTop {
				t.Errorf("after 40 successes: %d allowed at once (limit %d, ceiling %d), want %d", allowed, st.limit, st.ceiling, tc.grownTop)
			}
		})
	}
}
