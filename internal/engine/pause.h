// Pausing: an HTTP/1.x transfer whose write buffers are all with its
// writer is paused instead of making the loop wait (see pause.c).
#ifndef MULTIGET_PAUSE_H
#define MULTIGET_PAUSE_H

#include "xfer.h"

// An engine's pauser: the transfers paused for want of a free buffer, and
// the descriptor the loop also waits on, readable when one of them may go
// on. mg_unpause resumes those that may and returns how many it resumed;
// loop thread only.
mg_pauser *mg_pauser_new(void);
// mg_pauser_free comes after every transfer that used p has been freed.
void mg_pauser_free(mg_pauser *p);
int mg_pauser_fd(mg_pauser *p);
int mg_unpause(mg_pauser *p);

// For the write path. mg_pause_may says whether x, which just got a
// writer, may pause (pausing on, a pauser, HTTP/1.x). mg_pause_room
// pauses x when it has no room for n more bytes, and returns 1 then (the
// callback returns CURL_WRITEFUNC_PAUSE). mg_pause_forget takes x off the
// paused list: it is finished or dropped. mg_pause_kick_locked wakes the
// loop for x when x, paused, may go on; writers call it with mg_pool_mu
// held.
int mg_pause_may(mg_xfer *x);
int mg_pause_room(mg_xfer *x, size_t n);
void mg_pause_forget(mg_xfer *x);
void mg_pause_kick_locked(mg_xfer *x);

#ifdef MG_TEST
// How many times a transfer was paused since the process started.
long mg_pauses(void);
#endif

#endif
