// Corked requests. Over HTTP/2 the requests of many transfers share one
// connection, and libcurl sends each one as it starts its transfer: a TCP
// segment per request, and for a server that has caught up, a wake-up per
// request. So the connections known to be multiplexed (a transfer on one
// finished over HTTP/2, and libcurl kept it: mg_mux_note, from
// mg_xfer_finish) are corked (TCP_CORK) during a perform that comes after
// transfers were started, and uncorked when it returns: the requests of
// one perform leave together, in as few segments as they fill, and the
// server reads them at one go. Measured on 2,000 x 8 KiB over HTTP/2, 16
// at once, against nginx on 2 cores, 21 interleaved runs: median 132 ms
// against 147 before; per run 113-119 ms of CPU here against 126-132, and
// 40-41 ms in nginx against 49-55. HTTP/1.x connections carry one request
// at a time and are never corked. Switch: mg_on.cork
// (engine.Tuning.NoCork).

#include "cork.h"
#include "xfer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#define MG_MUX_MAX 64
static pthread_mutex_t mux_mu = PTHREAD_MUTEX_INITIALIZER;
static curl_socket_t mux_socks[MG_MUX_MAX];
static int mux_n;

#ifdef MG_TEST
static long corks;
long mg_corks(void) { return __atomic_load_n(&corks, __ATOMIC_RELAXED); }
#endif

// libcurl names a transfer's connection only once the transfer is done,
// and only while the connection stays open.
void mg_mux_note(CURL *easy) {
	long v = 0;
	curl_socket_t s = CURL_SOCKET_BAD;
	if (!mg_on.cork || curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &v) != CURLE_OK ||
	    v != CURL_HTTP_VERSION_2_0 || curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
	    s == CURL_SOCKET_BAD)
		return;
	pthread_mutex_lock(&mux_mu);
	int i = 0;
	while (i < mux_n && mux_socks[i] != s)
		i++;
	if (i == mux_n && mux_n < MG_MUX_MAX)
		mux_socks[mux_n++] = s;
	pthread_mutex_unlock(&mux_mu);
}

// Dropped before its number can come back as another socket.
void mg_mux_forget(curl_socket_t s) {
	pthread_mutex_lock(&mux_mu);
	for (int i = 0; i < mux_n; i++) {
		if (mux_socks[i] == s) {
			mux_socks[i] = mux_socks[--mux_n];
			break;
		}
	}
	pthread_mutex_unlock(&mux_mu);
}

void mg_cork(int on) {
	if (!mg_on.cork)
		return;
	pthread_mutex_lock(&mux_mu);
	for (int i = 0; i < mux_n; i++)
		setsockopt(mux_socks[i], IPPROTO_TCP, TCP_CORK, &on, sizeof on);
	if (on && mux_n > 0)
		MG_COUNT(corks);
	pthread_mutex_unlock(&mux_mu);
}

#ifdef MG_TEST
int mg_corked(void) {
	int n = 0;
	pthread_mutex_lock(&mux_mu);
	for (int i = 0; i < mux_n; i++) {
		int v = 0;
		socklen_t l = sizeof v;
		if (getsockopt(mux_socks[i], IPPROTO_TCP, TCP_CORK, &v, &l) == 0 && v)
			n++;
	}
	pthread_mutex_unlock(&mux_mu);
	return n;
}

int mg_mux_sockets(void) {
	pthread_mutex_lock(&mux_mu);
	int n = mux_n;
	pthread_mutex_unlock(&mux_mu);
	return n;
}
#endif
