// libcurl's sockets: opened and closed through callbacks of ours, and
// waited on with curl_multi_poll when select(2) cannot see them.
#ifndef MULTIGET_SOCKETS_H
#define MULTIGET_SOCKETS_H

#include <curl/curl.h>

// CURLOPT_OPENSOCKETFUNCTION and CURLOPT_CLOSESOCKETFUNCTION.
curl_socket_t mg_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a);
int mg_closesocket(void *clientp, curl_socket_t s);
// Number of open libcurl sockets whose descriptor is >= FD_SETSIZE, which
// curl_multi_fdset cannot report.
long mg_high_sockets(void);
// Waits on the multi handle with curl_multi_poll (no FD_SETSIZE limit).
CURLMcode mg_multi_poll(CURLM *multi, int timeout_ms, int *numfds);
CURLMcode mg_multi_wakeup(CURLM *multi);

#endif
