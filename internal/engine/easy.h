// Easy handles: the options the Go binding cannot set (C function
// pointers, C-owned data, variadic setopt), the TLS session share, header
// lists and response header look-ups.
#ifndef MULTIGET_EASY_H
#define MULTIGET_EASY_H

#include <curl/curl.h>

#include "xfer.h"

// curl_easy_setopt is variadic, which cgo cannot call: one entry per
// argument type. A NULL string resets the option.
CURLcode mg_setopt_str(CURL *easy, CURLoption opt, const char *v);
CURLcode mg_setopt_long(CURL *easy, CURLoption opt, long v);
CURLcode mg_setopt_slist(CURL *easy, CURLoption opt, struct curl_slist *list);
struct curl_slist *mg_slist_append(struct curl_slist *list, const char *s);
void mg_slist_free(struct curl_slist *list);

// mg_setopt_callbacks sets the write, header and socket callbacks;
// mg_setopt_xfer points them (and the error buffer) at x.
CURLcode mg_setopt_callbacks(CURL *easy);
CURLcode mg_setopt_xfer(CURL *easy, mg_xfer *x);
// mg_easy_park drops a finished transfer's pointers from a handle kept for
// reuse, so nothing can reach freed memory through it.
void mg_easy_park(CURL *easy);

// TLS sessions shared by every handle of an engine: a connection that a
// handle opens to a host another handle has talked to resumes that
// session instead of a full handshake. No lock callbacks: one thread uses
// all the handles. With cookies, the share also holds the run's one
// cookie store (-b FILE, --cookie-jar). mg_share_new returns NULL when
// libcurl cannot share what is asked (cookies when asked, else TLS
// sessions); mg_share_free must come after the last handle's cleanup.
// Before 8.12 libcurl keeps sessions per easy handle unless shared, and
// reuses one for every later connection to the host. From 8.12 on the
// multi handle has a session cache of its own (the share takes its place),
// and a TLS 1.3 ticket serves one connection only (RFC 8446 C.4; see
// Curl_ssl_scache_take in lib/vtls/vtls_scache.c): connections opened at
// once resume only as many sessions as the server sent tickets.
CURLSH *mg_share_new(int cookies);
CURLcode mg_setopt_share(CURL *easy, CURLSH *sh);
void mg_share_free(CURLSH *sh);
// mg_cookie_list gives every cookie of the store a handle uses, one
// Netscape-format line each; the caller frees the list (mg_slist_free).
CURLcode mg_cookie_list(CURL *easy, struct curl_slist **out);

// mg_header returns the value of the last response's header name, or NULL.
const char *mg_header(CURL *easy, const char *name);
// mg_retry_after returns the Retry-After of the last response in seconds,
// or -1 when there is none.
long long mg_retry_after(CURL *easy);

#endif
