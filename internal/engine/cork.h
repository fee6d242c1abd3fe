// Corked requests over multiplexed connections (see cork.c).
#ifndef MULTIGET_CORK_H
#define MULTIGET_CORK_H

#include <curl/curl.h>

// mg_cork corks (on) or uncorks every connection known to be multiplexed
// (HTTP/2), around a perform that starts transfers.
void mg_cork(int on);
// mg_mux_note remembers easy's connection if it is multiplexed; called as
// a transfer finishes. mg_mux_forget drops s, which libcurl is closing.
void mg_mux_note(CURL *easy);
void mg_mux_forget(curl_socket_t s);

#ifdef MG_TEST
// How many performs were corked since the process started, how many
// multiplexed connections are corked now, and how many are known.
long mg_corks(void);
int mg_corked(void);
int mg_mux_sockets(void);
#endif

#endif
