// Which connection each transfer was given, told by libcurl's pre-request
// callback (CURLOPT_PREREQFUNCTION, libcurl >= 7.80): it runs once a
// transfer has a connection, new or reused, just before its request is
// sent. The engine reads what it recorded after each curl_multi_perform
// (conns.go) to learn early that a host multiplexes and how many streams
// its server allows on a connection. Loop thread only.
#ifndef MULTIGET_CONNS_H
#define MULTIGET_CONNS_H

#include <curl/curl.h>

typedef struct mg_conn {
	int watch;               // record this transfer's connection (set from Go)
	unsigned long long seq;  // order in which this transfer got its connection; 0: not yet
	unsigned long long resp; // order in which its first response status line came; 0: not yet
	int fresh;               // the connection was opened for this transfer
	int late;                // fresh, and the server's HTTP/2 SETTINGS may come a round trip after its handshake (mg_settings_late)
	long long handshake_us;  // fresh: how long its TLS handshake took (APPCONNECT less CONNECT time)
	int lport, rport;        // local and remote port
	char lip[48], rip[48];   // local and remote address (CURL_MAX_IPADR_LEN is 46)
} mg_conn;

struct mg_xfer;

// CURLOPT_PREREQFUNCTION; its data is the transfer's mg_xfer.
int mg_prereq(void *ud, char *rip, char *lip, int rport, int lport);
// mg_settings_late says whether the server of easy's connection may send
// its SETTINGS a round trip after the TLS handshake ended on the client:
// over TLS 1.3, or a resumed TLS 1.2 session, the server's side of the
// handshake ends with the client's last message, so its first frames
// follow the client's first requests; over a full TLS 1.2 handshake they
// come with its end. 0 on a connection without TLS; 1 when that cannot
// be told (a TLS library other than OpenSSL).
int mg_settings_late(CURL *easy);
// mg_conn_response records x's first response status line.
void mg_conn_response(struct mg_xfer *x);
// mg_conn_responses counts the first response status lines recorded so
// far, all transfers.
unsigned long long mg_conn_responses(void);
// mg_conn_take hands over the transfers that got a connection since the
// last call, in that order: *n of them, the array valid until the next
// call. Every transfer in it is still in the multi handle: the caller
// takes them after each curl_multi_perform, before removing any handle.
struct mg_xfer **mg_conn_take(int *n);
// mg_conn_forget drops x from what mg_conn_take would return (a transfer
// removed before the engine looked).
void mg_conn_forget(struct mg_xfer *x);
// mg_conn_setopt sets the callback on easy, where libcurl has it.
CURLcode mg_conn_setopt(CURL *easy);

#endif
