package report

import (
	"fmt"
	"sync"
	"testing"

	"github.com/multiget/multiget/internal/engine"
)

// gate is an Observer that blocks in its first call until opened, like a
// reader that has stopped reading, and records what it got.
type gate struct {
	open    chan struct{}
	mu      sync.Mutex
	results []string
	prog    []engine.Progress
}

func (g *gate) Result(r engine.Result) {
	<-g.open
	g.mu.Lock()
	g.results = append(g.results, r.Source)
	g.mu.Unlock()
}

func (g *gate) Progress(p engine.Progress) {
	<-g.open
	g.mu.Lock()
	g.prog = append(g.prog, p)
	g.mu.Unlock()
}

// While the reader is stuck, the engine's calls return at once; once it
// reads again, every result arrives, in order, followed by the latest
// progress snapshot.
func TestQueueNeverWaitsForTheReader(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	q := NewQueue(g)
	const n = 5000
	for i := range n {
		q.Result(engine.Result{Source: fmt.Sprint(i)})
		q.Progress(engine.Progress{Bytes: int64(i)})
	}
	// Every call above returned while the reader was blocked.
	close(g.open)
	q.Close()
	if len(g.results) != n {
		t.Fatalf("%d results delivered, want %d", len(g.results), n)
	}
	for i, s := range g.results {
		if s != fmt.Sprint(i) {
			t.Fatalf("result %d is %q: out of order", i, s)
		}
	}
	if len(g.prog) == 0 || g.prog[len(g.prog)-1].Bytes != n-1 {
		t.Errorf("progress delivered %v, want the last to be the latest (%d bytes)", g.prog, n-1)
	}
	if len(g.prog) > 3 {
		t.Errorf("%d progress snapshots delivered for a reader that was stuck, want the latest only (at most one per pass)", len(g.prog))
	}
}
