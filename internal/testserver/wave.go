package testserver

import (
	"sync"
	"time"
)

// Wave proves a lower bound on a client's concurrency without a clock in
// the assertion: once Set(n), the first n requests that call Hold are held
// until all n are held together. A client that never runs n at once leaves
// them waiting out a timeout, and Late then reports it. The zero Wave holds
// nothing.
type Wave struct {
	mu   sync.Mutex
	n    int
	seen int
	full chan struct{}
	late bool
}

// waveTimeout is how long a held request waits for the rest of its wave.
const waveTimeout = 10 * time.Second

// Set starts a new wave of n requests.
func (w *Wave) Set(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n, w.seen, w.full, w.late = n, 0, make(chan struct{}), false
}

// Hold is called by a handler while its request counts as in flight.
func (w *Wave) Hold() {
	w.mu.Lock()
	if w.n == 0 || w.seen >= w.n {
		w.mu.Unlock()
		return
	}
	w.seen++
	full := w.full
	if w.seen == w.n {
		close(full)
	}
	w.mu.Unlock()
	select {
	case <-full:
	case <-time.After(waveTimeout):
		w.mu.Lock()
		w.late = true
		w.mu.Unlock()
	}
}

// Size is the n of the current wave, 0 when none was set.
func (w *Wave) Size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Late reports that a held request waited out the timeout: the client
// never had the whole wave in flight.
func (w *Wave) Late() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.late
}
