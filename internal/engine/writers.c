// Background writers. A body larger than one buffer hands its full buffers
// to a writer thread, which writes them with pwrite at their file position
// while the loop goes on receiving. Each transfer sticks to one writer, so
// its buffers are written in order. A transfer holds up to MG_WBUFS
// buffers, allocated as it needs them, and all transfers together about
// MG_WBUF_BUDGET. When none is free, the transfer writes its full buffer
// itself on the loop thread, so that no libcurl callback ever waits for a
// thread.
//
// Why: copying into freshly allocated page-cache pages is the dearest part
// of a large download, and on the loop thread it capped every transfer at
// one core, shared with receiving. Measured on 4 x 256 MiB to tmpfs on 2
// cores: 756-1425 ms on the loop thread alone, 621-847 ms with writers.
// 16 buffers per transfer were no faster than 8 (0.65-0.71 s against
// 0.67-0.73 s) but took 8 MiB more peak RSS; 4 were slower (0.68-0.85 s).
// Switch: mg_on.writers (engine.Tuning.NoWriters).
//
// Only a transfer that fills a buffer fast gets a writer: a slow one is
// written here at little cost to the loop, and a writer's buffers would
// only be memory. Measured on 1 x 256 MiB split 16 ways at 5,000 KB/s per
// connection (a buffer every 52 ms): peak RSS 29.3 MiB with writers and
// 25.2 MiB without, in the same 3.53-3.57 s. Two fills in a row must be
// fast: on that link one range in five runs met a single fast fill (a
// burst after a stall) and took its writer's buffers, 27.3 MiB. The rule
// looks at each fill, so a transfer that speeds up gets its writer then.

#include "writers.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MG_WBUF_BUDGET 32
#define MG_WRITERS_MAX 4

typedef struct {
	pthread_cond_t cv; // work for this writer
	mg_wjob *head, *tail;
	int idle;
} mg_wqueue;

pthread_mutex_t mg_pool_mu = PTHREAD_MUTEX_INITIALIZER;

static struct {
	pthread_once_t once;
	pthread_cond_t back; // a buffer came back to a draining transfer
	mg_wqueue q[MG_WRITERS_MAX];
	int n;    // writer threads running (0: write on the loop thread)
	int next; // round-robin assignment
	int bufs; // buffers held by transfers that write through the pool
} pool = {PTHREAD_ONCE_INIT, PTHREAD_COND_INITIALIZER};

#ifdef MG_TEST
static long async_transfers;
long mg_async_transfers(void) { return __atomic_load_n(&async_transfers, __ATOMIC_RELAXED); }

// Writers hold each buffer until released, so that the loop meets buffers
// still queued.
static int writers_held;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;

void mg_writers_hold(int on) {
	pthread_mutex_lock(&mg_pool_mu);
	writers_held = on;
	if (!on)
		pthread_cond_broadcast(&held_cv);
	pthread_mutex_unlock(&mg_pool_mu);
}
#endif

// enqueue_locked appends j to a writer's queue and wakes it if idle.
static void enqueue_locked(int writer, mg_wjob *j) {
	mg_wqueue *q = &pool.q[writer];
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	if (q->idle)
		pthread_cond_signal(&q->cv);
}

// fail_locked records a failed write of x at off; nothing more of x is
// written afterwards.
static void fail_locked(mg_xfer *x, int e, long long off) {
	if (x->wfail)
		return;
	errno = e;
	mg_set_err(x, MG_OP_WRITE, x->path);
	x->fail_off = off;
	__atomic_store_n(&x->wfail, 1, __ATOMIC_RELEASE);
}

static void *writer_main(void *arg) {
	mg_wqueue *q = arg;
	pthread_mutex_lock(&mg_pool_mu);
	for (;;) {
		while (!q->head) {
			q->idle = 1;
			pthread_cond_wait(&q->cv, &mg_pool_mu);
			q->idle = 0;
		}
		mg_wjob *j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
#ifdef MG_TEST
		while (writers_held)
			pthread_cond_wait(&held_cv, &mg_pool_mu);
#endif
		mg_xfer *x = j->x;
		int skip = x->wfail; // after a failure, nothing more is written
		pthread_mutex_unlock(&mg_pool_mu);
		int e = skip ? 0 : mg_pwrite_all(x->fd, j->data, (long long)j->len, j->off);
		pthread_mutex_lock(&mg_pool_mu);
		if (e)
			fail_locked(x, e, j->off);
		j->busy = 0;
		x->inflight--;
		if (x->waiting)
			pthread_cond_broadcast(&pool.back);
	}
	return NULL;
}

int mg_start_helper(void *(*fn)(void *), void *arg) {
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_t t;
	int rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void pool_start(void) {
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus < 1 ? 1 : cpus > MG_WRITERS_MAX ? MG_WRITERS_MAX : (int)cpus;
	int n = 0;
	for (; n < want; n++) {
		pthread_cond_init(&pool.q[n].cv, NULL);
		if (mg_start_helper(writer_main, &pool.q[n]) != 0)
			break;
	}
	pthread_mutex_lock(&mg_pool_mu);
	pool.n = n;
	pthread_mutex_unlock(&mg_pool_mu);
}

// go_async moves a transfer whose buffer is full to a writer, keeping that
// buffer as its first. Returns 0, or -1 when no writer can be had.
static int go_async(mg_xfer *x) {
	pthread_once(&pool.once, pool_start);
	mg_wjob *jobs = calloc(MG_WBUFS, sizeof *jobs);
	if (!jobs)
		return -1;
	pthread_mutex_lock(&mg_pool_mu);
	if (pool.n == 0) {
		pthread_mutex_unlock(&mg_pool_mu);
		free(jobs);
		return -1;
	}
	x->writer = pool.next++ % pool.n;
	pool.bufs++;
	pthread_mutex_unlock(&mg_pool_mu);
	MG_COUNT(async_transfers);
	for (int i = 0; i < MG_WBUFS; i++)
		jobs[i].x = x;
	jobs[0].data = x->buf;
	x->jobs = jobs;
	return 0;
}

// queue_locked hands the current buffer to x's writer; x then has no
// current buffer until take. mg_pool_mu is held.
static void queue_locked(mg_xfer *x) {
	mg_wjob *cur = NULL;
	for (int i = 0; i < MG_WBUFS && !cur; i++)
		if (x->jobs[i].data == x->buf)
			cur = &x->jobs[i];
	cur->off = x->wpos;
	cur->len = x->len;
	cur->busy = 1;
	x->wpos += (long long)x->len;
	x->len = 0;
	x->buf = NULL;
	x->inflight++;
	enqueue_locked(x->writer, cur);
}

// free_locked finds a buffer of x that is neither current nor queued, or a
// slot that may still be allocated (counted in the budget at once); NULL
// when there is none.
static mg_wjob *free_locked(mg_xfer *x) {
	mg_wjob *unallocated = NULL;
	for (int i = 0; i < MG_WBUFS; i++) {
		mg_wjob *j = &x->jobs[i];
		if (j->busy || (j->data && j->data == x->buf))
			continue;
		if (j->data)
			return j;
		if (!unallocated)
			unallocated = j;
	}
	if (unallocated && pool.bufs < MG_WBUF_BUDGET) {
		pool.bufs++;
		return unallocated;
	}
	return NULL;
}

// take makes next (from free_locked) x's current buffer.
static int take(mg_xfer *x, mg_wjob *next) {
	if (!next->data && !(next->data = malloc(MG_BUFCAP))) {
		pthread_mutex_lock(&mg_pool_mu);
		pool.bufs--;
		pthread_mutex_unlock(&mg_pool_mu);
		errno = ENOMEM;
		mg_set_err(x, MG_OP_WRITE, x->path);
		return -1;
	}
	x->buf = next->data;
	x->len = 0;
	return 0;
}

// write_here writes x's current buffer at wpos, on the loop thread.
static int write_here(mg_xfer *x) {
	int e = mg_pwrite_all(x->fd, x->buf, (long long)x->len, x->wpos);
	if (e) {
		// Under the lock: a writer may be recording a failure of its own.
		pthread_mutex_lock(&mg_pool_mu);
		fail_locked(x, e, x->wpos);
		pthread_mutex_unlock(&mg_pool_mu);
	} else {
		x->wpos += (long long)x->len;
	}
	x->len = 0;
	return e ? -1 : 0;
}

static long long fast_fill_ns = MG_FAST_FILL_NS;

#ifdef MG_TEST
void mg_writers_fast_fill(long long ns) {
	__atomic_store_n(&fast_fill_ns, ns > 0 ? ns : MG_FAST_FILL_NS, __ATOMIC_RELAXED);
}
#endif

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void mg_writers_filling(mg_xfer *x) { x->fill_from = now_ns(); }

// filled_fast says whether x's last two buffers, the one full now and
// the one before it, each filled within MG_FAST_FILL_NS (one alone can be
// a burst of what waited in the socket), and starts timing the next fill.
static int filled_fast(mg_xfer *x) {
	long long now = now_ns(), from = x->fill_from;
	x->fill_from = now;
	x->fast_fills = now - from < __atomic_load_n(&fast_fill_ns, __ATOMIC_RELAXED) ? x->fast_fills + 1 : 0;
	return x->fast_fills >= 2;
}

int mg_writers_hand_on(mg_xfer *x) {
	if (!x->jobs && (x->cap < MG_BUFCAP || !mg_on.writers || !filled_fast(x) || go_async(x) != 0))
		return write_here(x);
	pthread_mutex_lock(&mg_pool_mu);
	mg_wjob *next = free_locked(x);
	if (next)
		queue_locked(x);
	pthread_mutex_unlock(&mg_pool_mu);
	if (next)
		return take(x, next);
	// Out of buffers: the full buffer is written here, after those still
	// queued in the file but maybe before them in time (pwrite at its own
	// position).
	return write_here(x);
}

int mg_writers_drain(mg_xfer *x) {
	if (!x->jobs)
		return 0;
	pthread_mutex_lock(&mg_pool_mu);
	while (x->inflight > 0) {
		x->waiting = 1;
		pthread_cond_wait(&pool.back, &mg_pool_mu);
	}
	x->waiting = 0;
	int failed = x->wfail;
	pthread_mutex_unlock(&mg_pool_mu);
	return failed ? -1 : 0;
}

long long mg_writers_flushed(mg_xfer *x) {
	pthread_mutex_lock(&mg_pool_mu);
	long long pos = x->wpos;
	for (int i = 0; i < MG_WBUFS; i++)
		if (x->jobs[i].busy && x->jobs[i].off < pos)
			pos = x->jobs[i].off;
	if (x->wfail && x->fail_off < pos)
		pos = x->fail_off;
	pthread_mutex_unlock(&mg_pool_mu);
	return pos;
}

void mg_writers_free(mg_xfer *x) {
	int held = 0;
	for (int i = 0; i < MG_WBUFS; i++) {
		held += x->jobs[i].data != NULL;
		free(x->jobs[i].data);
	}
	free(x->jobs);
	x->jobs = NULL;
	x->buf = NULL;
	pthread_mutex_lock(&mg_pool_mu);
	pool.bufs -= held;
	pthread_mutex_unlock(&mg_pool_mu);
}
