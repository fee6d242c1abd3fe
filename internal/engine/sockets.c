// libcurl opens every socket through mg_opensocket and closes it through
// mg_closesocket, so the engine knows when one lands above FD_SETSIZE and
// select(2) can no longer see it (the loop then waits in curl_multi_poll).

#include "sockets.h"

#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static long high_sockets;

curl_socket_t mg_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
	(void)clientp;
	(void)purpose;
	curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (s != CURL_SOCKET_BAD && s >= FD_SETSIZE)
		__atomic_add_fetch(&high_sockets, 1, __ATOMIC_RELAXED);
	return s;
}

int mg_closesocket(void *clientp, curl_socket_t s) {
	(void)clientp;
	if (s >= FD_SETSIZE)
		__atomic_sub_fetch(&high_sockets, 1, __ATOMIC_RELAXED);
	return close(s);
}

long mg_high_sockets(void) { return __atomic_load_n(&high_sockets, __ATOMIC_RELAXED); }

CURLMcode mg_multi_poll(CURLM *multi, int timeout_ms, int *numfds) {
	return curl_multi_poll(multi, NULL, 0, timeout_ms, numfds);
}

CURLMcode mg_multi_wakeup(CURLM *multi) { return curl_multi_wakeup(multi); }
