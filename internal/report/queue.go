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
	// -v lines, each delivered just before results[at] of its batch
	// (after the batch when at is its end), so they keep their place.
	attempts []queuedAttempt
	prog     engine.Progress
	hasProg  bool
	closing  bool

	wake chan struct{} // holds at most one wake-up for the writer
	done chan struct{}
}

var _ engine.Observer = (*Queue)(nil)

type queuedAttempt struct {
	a  engine.Attempt
	at int
}

// attemptWriter is an Observer that also writes -v lines (Reporter).
type attemptWriter interface{ Attempt(engine.Attempt) }

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

// Attempt queues a -v line (engine.Config.OnAttempt); it waits only
// while maxQueued of them are queued.
func (q *Queue) Attempt(a engine.Attempt) {
	q.mu.Lock()
	for len(q.attempts) >= maxQueued {
		q.space.Wait()
	}
	q.attempts = append(q.attempts, queuedAttempt{a, len(q.results)})
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
		attempts := q.attempts
		q.attempts = nil
		p, hasProg := q.prog, q.hasProg
		q.hasProg = false
		closing := q.closing
		q.space.Broadcast()
		q.mu.Unlock()

		for i := range batch {
			attempts = q.deliverAttempts(attempts, i)
			q.next.Result(batch[i])
			batch[i] = engine.Result{} // let the strings go
		}
		q.deliverAttempts(attempts, len(batch))
		if hasProg {
			q.next.Progress(p)
		}
		q.mu.Lock()
		if q.spare == nil {
			q.spare = batch[:0]
		}
		q.mu.Unlock()
		if len(batch) == 0 && len(attempts) == 0 && !hasProg {
			if closing {
				return
			}
			<-q.wake
		}
	}
}

// deliverAttempts writes the queued -v lines that come before results[i]
// and returns the rest.
func (q *Queue) deliverAttempts(attempts []queuedAttempt, i int) []queuedAttempt {
	if len(attempts) == 0 {
		return nil // without -v: no look at next per result
	}
	w, _ := q.next.(attemptWriter)
	for len(attempts) > 0 && attempts[0].at <= i {
		if w != nil {
			w.Attempt(attempts[0].a)
		}
		attempts = attempts[1:]
	}
	return attempts
}
