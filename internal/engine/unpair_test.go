package engine

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSharedCPU(t *testing.T) {
	for _, c := range []struct {
		d      int64
		window time.Duration
		want   bool
	}{
		{20, 5 * time.Millisecond, true},   // 4 a millisecond, the least that counts
		{19, time.Millisecond, false},      // frequent, but too few to judge
		{20, 6 * time.Millisecond, false},  // too rare
		{500, 50 * time.Millisecond, true}, // a long window (the loop slept)
		{0, 0, false},
	} {
		if got := sharedCPU(c.d, c.window); got != c.want {
			t.Errorf("sharedCPU(%d, %v) = %v, want %v", c.d, c.window, got, c.want)
		}
	}
}

// moveCPU puts the thread on another CPU and leaves its affinity as it
// was, so the scheduler may move it again later.
func TestMoveCPULeavesAffinityAlone(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	if before.Count() < 2 {
		t.Skip("this thread may run on one CPU only")
	}
	if n := threadPreemptions(); n < 0 {
		t.Fatal("no preemption count for this thread")
	}
	landed := false
	for i := 0; i < 20 && !landed; i++ {
		from := currentCPU()
		to := moveCPU()
		if to < 0 {
			t.Fatal("moveCPU failed")
		}
		if to == from || !before.IsSet(to) {
			t.Fatalf("moved from CPU %d to %d, allowed %v", from, to, before)
		}
		// The scheduler may move the thread again at once; it rarely does.
		landed = currentCPU() == to
		var after unix.CPUSet
		if err := unix.SchedGetaffinity(0, &after); err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Fatalf("affinity after the move %v, before %v", after, before)
		}
	}
	if !landed {
		t.Error("the thread was never found on the CPU it was moved to")
	}
}
