// Connections given to transfers: see conns.h.

#include <dlfcn.h>
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
	x->conn.late = x->conn.fresh && mg_settings_late(x->easy);
	if (x->conn.fresh) {
		curl_off_t tls = 0, tcp = 0;
		curl_easy_getinfo(x->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
		curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &tcp);
		x->conn.handshake_us = tls > tcp ? (long long)(tls - tcp) : 0;
	}
	x->conn.rport = rport;
	x->conn.lport = lport;
	copy_ip(x->conn.rip, rip);
	copy_ip(x->conn.lip, lip);
	got[ngot++] = x;
	return CURL_PREREQFUNC_OK;
}

// OpenSSL's own calls, looked up in the process (libcurl loaded the
// library): multiget links no TLS library of its own.
static int (*ssl_version)(const void *);
static int (*ssl_session_reused)(const void *);
static int ssl_looked;

int mg_settings_late(CURL *easy) {
	struct curl_tlssessioninfo *info = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info)
		return 1;
	if (info->backend == CURLSSLBACKEND_NONE || !info->internals)
		return 0; // no TLS on it: no HTTP/2 either (libcurl asks for it by ALPN)
	if (info->backend != CURLSSLBACKEND_OPENSSL)
		return 1;
	if (!ssl_looked) {
		ssl_looked = 1;
		*(void **)&ssl_version = dlsym(RTLD_DEFAULT, "SSL_version");
		*(void **)&ssl_session_reused = dlsym(RTLD_DEFAULT, "SSL_session_reused");
	}
	if (!ssl_version || !ssl_session_reused)
		return 1;
	return ssl_version(info->internals) >= 0x0304 /* TLS1_3_VERSION */ || ssl_session_reused(info->internals);
}

static unsigned long long responses; // first responses recorded so far

void mg_conn_response(struct mg_xfer *x) {
	if (x->conn.watch && !x->conn.resp) {
		x->conn.resp = ++seq;
		responses++;
	}
}

unsigned long long mg_conn_responses(void) { return responses; }

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
