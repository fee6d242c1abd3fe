// Writer threads: a body larger than one buffer is written by a thread of
// ours while the loop goes on receiving (see writers.c).
#ifndef MULTIGET_WRITERS_H
#define MULTIGET_WRITERS_H

#include <pthread.h>
#include <stddef.h>

#include "xfer.h"

// A transfer's write buffer: large enough that a fast transfer costs few
// write(2) calls, small enough that -j transfers stay cheap; small bodies
// get a buffer of their own size. (Measured on 4 x 256 MiB: 256 KiB beat
// 1 MiB and 4 MiB.)
#define MG_BUFCAP (256 * 1024)
// Buffers one transfer may hold once it writes through a writer.
#define MG_WBUFS 8

typedef struct mg_wjob {
	struct mg_wjob *next; // (pool) queue link
	mg_xfer *x;
	char *data;           // MG_BUFCAP bytes, allocated on first use
	long long off;        // file position of data[0]
	size_t len;
	int busy;             // (pool) queued or being written
} mg_wjob;

// The pool's lock: it guards the fields of mg_xfer marked (pool).
extern pthread_mutex_t mg_pool_mu;

// MG_FAST_FILL_NS: a transfer goes to a writer only once it filled two
// buffers in a row each within this time (256 KiB in 10 ms: 26 MB/s or
// more).
#define MG_FAST_FILL_NS (10 * 1000 * 1000LL)

// mg_writers_filling notes that x's buffer starts filling now.
void mg_writers_filling(mg_xfer *x);
// mg_writers_hand_on writes out x's full buffer. A transfer without a
// writer yet gets one when its body is larger than one buffer, this fill
// and the one before were fast (MG_FAST_FILL_NS), writers are on and a
// writer can be had; else the buffer is written here. A transfer with a
// writer queues the buffer to it and takes a free one; when none is free,
// it writes the buffer here, on the loop thread, so the write callback
// never waits. Returns 0, or -1 with the error recorded.
int mg_writers_hand_on(mg_xfer *x);
// mg_writers_drain waits until the writer has written every queued buffer
// of x: outside libcurl's callbacks only (finish, keep, discard, free).
// Returns -1 when one of them failed (err is set), else 0; afterwards the
// loop thread owns x again and writes at wpos itself.
int mg_writers_drain(mg_xfer *x);
// mg_writers_flushed: see mg_xfer_flushed, for a transfer with a writer.
long long mg_writers_flushed(mg_xfer *x);
// mg_writers_free frees x's buffers (after mg_writers_drain).
void mg_writers_free(mg_xfer *x);

// mg_start_helper starts a detached thread of ours running fn(arg): no
// signals (the Go runtime's threads handle them), a small stack. Returns 0
// or pthread_create's error.
int mg_start_helper(void *(*fn)(void *), void *arg);

#ifdef MG_TEST
// Transfers whose writes went to a writer thread since the process began.
long mg_async_transfers(void);
// While on is set, writer threads wait before each buffer.
void mg_writers_hold(int on);
// Sets MG_FAST_FILL_NS for this process (0: back to it), so that a test
// can count every fill fast, whatever the machine's load.
void mg_writers_fast_fill(long long ns);
#endif

#endif
