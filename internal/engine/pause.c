// Pausing. A transfer over HTTP/1.x that has no room for the next chunk
// (its buffers are all with the writer) is paused with
// CURL_WRITEFUNC_PAUSE instead of making the loop wait, so the loop goes on
// with the other transfers. Its writer wakes the loop through the engine's
// eventfd once half of the transfer's buffers are back (all, when it holds
// one), and the loop unpauses it in mg_unpause. Only HTTP/1.x transfers
// pause, the one case this was built and measured for; not under a speed
// cap either, as libcurl 8.18 starts a cap afresh at every unpause (see
// pauserFor in transfer.go). Any other transfer out of buffers writes one
// on the loop thread (see writers.c). Switch: mg_on.pause
// (engine.Tuning.NoPause); off, no transfer ever pauses.

#include "pause.h"
#include "writers.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct mg_pauser {
	int fd;        // eventfd, readable when a paused transfer may go on
	int pending;   // (pool) fd holds a wake-up not yet read
	mg_xfer *head; // paused transfers (loop thread)
};

#ifdef MG_TEST
static long pauses;
long mg_pauses(void) { return __atomic_load_n(&pauses, __ATOMIC_RELAXED); }
#endif

mg_pauser *mg_pauser_new(void) {
	mg_pauser *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->fd < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void mg_pauser_free(mg_pauser *p) {
	if (!p)
		return;
	close(p->fd);
	free(p);
}

int mg_pauser_fd(mg_pauser *p) { return p ? p->fd : -1; }

int mg_pause_may(mg_xfer *x) {
	long v = 0;
	return mg_on.pause && x->pauser && x->check_http &&
	       curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK &&
	       (v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1);
}

// ready_locked: x, paused, has enough buffers back to go on.
static int ready_locked(mg_xfer *x) {
	int held = 0;
	for (int i = 0; i < MG_WBUFS; i++)
		held += x->jobs[i].data != NULL;
	return x->inflight * 2 <= held;
}

void mg_pause_kick_locked(mg_xfer *x) {
	if (!x->paused || x->kicked || !ready_locked(x))
		return;
	x->kicked = 1;
	mg_pauser *p = x->pauser;
	if (p->pending)
		return;
	__atomic_store_n(&p->pending, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	while (write(p->fd, &one, sizeof one) < 0 && errno == EINTR) {
	}
}

int mg_pause_room(mg_xfer *x, size_t n) {
	pthread_mutex_lock(&mg_pool_mu);
	if (mg_writers_room_locked(x) >= n) {
		pthread_mutex_unlock(&mg_pool_mu);
		return 0;
	}
	// What x has buffered goes to the writer, so that a buffer comes back.
	if (x->buf && x->len > 0)
		mg_writers_queue_locked(x);
	x->paused = 1;
	x->kicked = 0;
	pthread_mutex_unlock(&mg_pool_mu);
	x->pnext = x->pauser->head;
	x->pauser->head = x;
	MG_COUNT(pauses);
	return 1;
}

void mg_pause_forget(mg_xfer *x) {
	if (!x->paused)
		return;
	for (mg_xfer **pp = &x->pauser->head; *pp; pp = &(*pp)->pnext) {
		if (*pp == x) {
			*pp = x->pnext;
			break;
		}
	}
	x->pnext = NULL;
	pthread_mutex_lock(&mg_pool_mu);
	x->paused = 0;
	x->kicked = 0;
	pthread_mutex_unlock(&mg_pool_mu);
}

int mg_unpause(mg_pauser *p) {
	if (!p)
		return 0;
	if (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&mg_pool_mu);
		uint64_t v;
		while (read(p->fd, &v, sizeof v) < 0 && errno == EINTR) {
		}
		__atomic_store_n(&p->pending, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&mg_pool_mu);
	}
	mg_xfer *list = p->head;
	p->head = NULL;
	int n = 0;
	while (list) {
		mg_xfer *x = list;
		list = x->pnext;
		x->pnext = NULL;
		pthread_mutex_lock(&mg_pool_mu);
		int ready = ready_locked(x);
		if (ready) {
			x->paused = 0;
			x->kicked = 0;
		}
		pthread_mutex_unlock(&mg_pool_mu);
		if (!ready) {
			x->pnext = p->head;
			p->head = x;
			continue;
		}
		n++;
		// Hands over what libcurl kept, through mg_write, which may pause
		// x again. A failure there (the writer failed meanwhile) leaves
		// x->state at MG_IOERR, which the end of the transfer reports.
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
	return n;
}
