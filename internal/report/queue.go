package report

import (
	"sync"

	"github.com/multiget/multiget/internal/engine"
)

// maxQueued bounds the results waiting for a slow reader (a terminal, a
// pipe into tee, a log on a slow disk). Below it the engine never waits for
// output; beyond it (tens of thousands of results, a few MiB) it waits for
// the reader rather than hold an unbounded backlog.
const maxQueued = 1 << 16

// Queue hands the engine's events to an Observer on a goroutine of its
// own, so that writing a result line never stalls the transfer loop: the
// loop only appends to a queue. Results keep their order; of the progress
// snapshots only the latest is delivered, as only that one is drawn.
type Queue struct {
	next engine.Observer

	mu      sync.Mutex
	space   *sync.Cond // signalled when the writer has taken the queue
	results []engine.Result
	spare   []engine.Result
	prog    engine.Progress
	hasProg bool
	closing bool

	wake chan struct{} // holds at most one wake-up for the writer
	done chan struct{}
}

var _ engine.Observer = (*Queue)(nil)

// NewQueue starts the goroutine that delivers events to next. Close must
// be called once the engine is done, before next is used directly again.
func NewQueue(next engine.Observer) *Queue {
	q := &Queue{next: next, wake: make(chan struct{}, 1), done: make(chan struct{})}
	q.space = sync.NewCond(&q.mu)
	go q.run()
	return q
}

// Result queues r; it waits only while maxQueued results are queued.
func (q *Queue) Result(r engine.Result) {
	q.mu.Lock()
	for len(q.results) >= maxQueued {
		q.space.Wait()
	}
	q.results = append(q.results, r)
	q.mu.Unlock()
	q.kick()
}

// Progress replaces the snapshot waiting for delivery, if any.
func (q *Queue) Progress(p engine.Progress) {
	q.mu.Lock()
	q.prog, q.hasProg = p, true
	q.mu.Unlock()
	q.kick()
}

// Close delivers everything queued and stops the goroutine.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.kick()
	<-q.done
}

func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		batch := q.results
		q.results, q.spare = q.spare[:0], nil
		p, hasProg := q.prog, q.hasProg
		q.hasProg = false
		closing := q.closing
		q.space.Broadcast()
		q.mu.Unlock()

		for i := range batch {
			q.next.Result(batch[i])
			batch[i] = engine.Result{} // let the strings go
		}
		if hasProg {
			q.next.Progress(p)
		}
		q.mu.Lock()
		if q.spare == nil {
			q.spare = batch[:0]
		}
		q.mu.Unlock()
		if len(batch) == 0 && !hasProg {
			if closing {
				return
			}
			<-q.wake
		}
	}
}
