package cmd

import (
	"sync"

	"github.com/multiget/multiget/internal/engine"
)

// intake is where the list reader hands entries to the run, and how a run
// that stops early (a signal, --fail-fast, a closed stdout) takes back the
// entries read but not yet taken by the engine, so that each gets its
// result: those in the channel and those the reader holds. The reader may
// be waiting on a stdin that stays open; it holds no entry then (it flushes
// before any read that may block), so the run need not wait for it.
type intake struct {
	stop chan struct{} // closed when the run stops taking entries

	mu       sync.Mutex
	cond     sync.Cond
	isClosed bool
	parked   bool // the reader waits for input, holding no entries
	done     bool // the reader has returned
	left     []engine.Entry
}

func newIntake() *intake {
	in := &intake{stop: make(chan struct{})}
	in.cond.L = &in.mu
	return in
}

func (in *intake) closed() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.isClosed
}

// leave gives back entries the reader holds once the run has stopped.
func (in *intake) leave(b []engine.Entry) {
	in.mu.Lock()
	in.left = append(in.left, b...)
	in.mu.Unlock()
}

// park marks the reader as about to wait for input; false once closed.
func (in *intake) park() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.isClosed {
		return false
	}
	in.parked = true
	in.cond.Broadcast()
	return true
}

// unpark marks the wait over; false when the run closed meanwhile.
func (in *intake) unpark() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.parked = false
	return !in.isClosed
}

func (in *intake) finish() {
	in.mu.Lock()
	in.done = true
	in.cond.Broadcast()
	in.mu.Unlock()
}

// close stops the reader and returns every entry it read that the engine
// did not take: the channel's and those the reader held, in list order.
func (in *intake) close(ch <-chan []engine.Entry) []engine.Entry {
	in.mu.Lock()
	in.isClosed = true
	close(in.stop)
	for !in.parked && !in.done {
		in.cond.Wait()
	}
	left := in.left
	in.mu.Unlock()
	// The reader sends nothing more: what the channel holds is all it sent.
	var out []engine.Entry
	for {
		select {
		case b, ok := <-ch:
			if ok {
				out = append(out, b...)
				continue
			}
		default:
		}
		return append(out, left...)
	}
}
