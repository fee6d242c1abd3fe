// Connections given to transfers: see conns.h.

#include <stdlib.h>
#include <string.h>

#include "conns.h"
#include "xfer.h"

static unsigned long long seq;   // one count for both events, so they can be ordered
static struct mg_xfer **got;     // transfers that got a connection, not yet taken
static int ngot, capgot;
static struct mg_xfer **taken;   // the array the last mg_conn_take returned
static int captaken;

static void copy_ip(char *dst, const char *src) {
	if (!src) {
		dst[0] = 0;
		return;
	}
	strncpy(dst, src, 47);
	dst[47] = 0;
}

int mg_prereq(void *ud, char *rip, char *lip, int rport, int lport) {
	mg_xfer *x = ud;
	// Only the first connection of an attempt counts: a redirect's next
	// hop may go elsewhere.
	if (!x || !x->conn.watch || x->conn.seq)
		return CURL_PREREQFUNC_OK;
	if (ngot == capgot) {
		int c = capgot ? 2 * capgot : 64;
		struct mg_xfer **g = realloc(got, (size_t)c * sizeof *g);
		if (!g)
			return CURL_PREREQFUNC_OK; // not recorded: the engine learns at the response instead
		got = g;
		capgot = c;
	}
	long made = 0;
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &made);
	x->conn.seq = ++seq;
	x->conn.fresh = made > 0;
	x->conn.rport = rport;
	x->conn.lport = lport;
	copy_ip(x->conn.rip, rip);
	copy_ip(x->conn.lip, lip);
	got[ngot++] = x;
	return CURL_PREREQFUNC_OK;
}

void mg_conn_response(struct mg_xfer *x) {
	if (x->conn.watch && !x->conn.resp)
		x->conn.resp = ++seq;
}

struct mg_xfer **mg_conn_take(int *n) {
	// The two arrays trade places: the one handed out is not written to
	// until the next call.
	struct mg_xfer **t = taken;
	int c = captaken;
	taken = got;
	captaken = capgot;
	got = t;
	capgot = c;
	*n = ngot;
	ngot = 0;
	return taken;
}

void mg_conn_forget(struct mg_xfer *x) {
	if (!x->conn.watch)
		return;
	for (int i = 0; i < ngot; i++)
		if (got[i] == x) {
			memmove(got + i, got + i + 1, (size_t)(ngot - i - 1) * sizeof *got);
			ngot--;
			return;
		}
}

CURLcode mg_conn_setopt(CURL *easy) {
#if LIBCURL_VERSION_NUM >= 0x075000
	if (curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, mg_prereq) == CURLE_OK)
		return CURLE_OK;
#endif
	(void)easy;
	return CURLE_OK; // an older libcurl: hosts are learnt from their first response
}
