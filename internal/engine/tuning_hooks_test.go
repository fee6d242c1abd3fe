//go:build mgtest

package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// Each switch turns its mechanism off: no 2 MiB receive buffer with
// bigbuf off, no unnamed file with unnamed off; and each is on by default.
func TestSwitchesTurnTheirMechanismOff(t *testing.T) {
	s := newServer(t)
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%v", off), func(t *testing.T) {
			dir := t.TempDir()
			entries, _ := mixedEntries(s, dir)
			var big atomic.Int64
			onBuffer = func(_ string, size int) {
				if size == bigBuffer {
					big.Add(1)
				}
			}
			defer func() { onBuffer = nil }()
			_, st := run(t, context.Background(), Config{Parallel: 6, Tuning: Tuning{NoBigBuffers: off, NoUnnamed: off}}, entries)
			if st.OK != len(entries) {
				t.Fatalf("%+v", st)
			}
			if got := big.Load(); (got == 0) != off {
				t.Errorf("%d transfers asked for the 2 MiB receive buffer with bigbuf off=%v", got, off)
			}
			if unnamed := tmpfileState() >= 10; unnamed == off {
				t.Errorf("unnamed files in use %v with unnamed off=%v", unnamed, off)
			}
		})
	}
}
