#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

// Large enough that a fast transfer costs few write(2) calls, small enough
// that -j transfers stay cheap; small bodies get a buffer of their own size.
#define MG_BUFCAP (256 * 1024)

static long high_sockets;

mg_xfer *mg_xfer_new(CURL *easy, const char *path, int check_http) {
	mg_xfer *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->path = strdup(path);
	if (!x->path) {
		free(x);
		return NULL;
	}
	x->easy = easy;
	x->fd = -1;
	x->check_http = check_http;
	return x;
}

static void set_err(mg_xfer *x, int op, const char *path) {
	x->err = errno;
	x->errop = op;
	free(x->errpath);
	x->errpath = strdup(path);
}

// Creates the missing parents of path, like mkdir -p on its directory.
static int mkdir_parents(mg_xfer *x, const char *path) {
	char *p = strdup(path);
	if (!p) {
		errno = ENOMEM;
		set_err(x, MG_OP_MKDIR, path);
		return -1;
	}
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			set_err(x, MG_OP_MKDIR, p);
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

static int open_output(mg_xfer *x) {
	// O_NOFOLLOW: a planted NAME.part symlink must not redirect the write.
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
	x->fd = open(x->path, flags, 0666);
	if (x->fd < 0 && errno == ENOENT) {
		if (mkdir_parents(x, x->path) != 0)
			return -1;
		x->fd = open(x->path, flags, 0666);
	}
	if (x->fd < 0) {
		set_err(x, MG_OP_OPEN, x->path);
		return -1;
	}
	return 0;
}

static int write_all(mg_xfer *x, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(x->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			set_err(x, MG_OP_WRITE, x->path);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int flush(mg_xfer *x) {
	if (x->len == 0)
		return 0;
	int rc = write_all(x, x->buf, x->len);
	x->len = 0;
	return rc;
}

static size_t mg_write(char *ptr, size_t size, size_t nmemb, void *ud) {
	mg_xfer *x = ud;
	size_t n = size * nmemb;
	if (x->state == MG_FRESH) {
		if (x->check_http) {
			long code = 0;
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
			x->code = code;
			if (code < 200 || code > 299) {
				x->state = MG_REJECTED;
				return 0; // aborts the transfer: the error body is never stored
			}
		}
		if (open_output(x) != 0) {
			x->state = MG_IOERR;
			return 0;
		}
		curl_off_t cl = -1;
		curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		x->cap = (cl > 0 && cl < MG_BUFCAP) ? (size_t)cl : MG_BUFCAP;
		x->buf = malloc(x->cap);
		if (!x->buf)
			x->cap = 0; // degrade to unbuffered writes
		x->state = MG_WRITING;
	} else if (x->state != MG_WRITING) {
		return 0;
	}
	if (x->len + n > x->cap && flush(x) != 0) {
		x->state = MG_IOERR;
		return 0;
	}
	if (n >= x->cap) {
		if (write_all(x, ptr, n) != 0) {
			x->state = MG_IOERR;
			return 0;
		}
	} else {
		memcpy(x->buf + x->len, ptr, n);
		x->len += n;
	}
	x->bytes += (long long)n;
	return n;
}

int mg_xfer_finish(mg_xfer *x) {
	if (x->state == MG_FRESH) {
		if (open_output(x) != 0) {
			x->state = MG_IOERR;
			return -1;
		}
		x->state = MG_WRITING;
	}
	if (x->state != MG_WRITING)
		return -1;
	int rc = flush(x);
	if (close(x->fd) != 0 && rc == 0) {
		set_err(x, MG_OP_CLOSE, x->path);
		rc = -1;
	}
	x->fd = -1;
	if (rc != 0)
		x->state = MG_IOERR;
	return rc;
}

void mg_xfer_discard(mg_xfer *x) {
	if (x->fd >= 0) {
		close(x->fd);
		x->fd = -1;
	}
	if (x->state == MG_WRITING || x->state == MG_IOERR)
		unlink(x->path); // ENOENT when it was never created: harmless
}

void mg_xfer_free(mg_xfer *x) {
	if (!x)
		return;
	if (x->fd >= 0)
		close(x->fd);
	free(x->buf);
	free(x->path);
	free(x->errpath);
	free(x);
}

// libcurl opens every socket through these two, so the engine knows when one
// lands above FD_SETSIZE and select(2) can no longer see it.
static curl_socket_t mg_opensocket(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *a) {
	(void)clientp;
	(void)purpose;
	curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (s != CURL_SOCKET_BAD && s >= FD_SETSIZE)
		__atomic_add_fetch(&high_sockets, 1, __ATOMIC_RELAXED);
	return s;
}

static int mg_closesocket(void *clientp, curl_socket_t s) {
	(void)clientp;
	if (s >= FD_SETSIZE)
		__atomic_sub_fetch(&high_sockets, 1, __ATOMIC_RELAXED);
	return close(s);
}

long mg_high_sockets(void) {
	return __atomic_load_n(&high_sockets, __ATOMIC_RELAXED);
}

CURLcode mg_setopt_callbacks(CURL *easy) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, mg_write)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, mg_opensocket)))
		return rc;
	return curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, mg_closesocket);
}

CURLcode mg_setopt_xfer(CURL *easy, mg_xfer *x) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, x)))
		return rc;
	return curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
}

CURLcode mg_setopt_slist(CURL *easy, CURLoption opt, struct curl_slist *list) {
	return curl_easy_setopt(easy, opt, list);
}

struct curl_slist *mg_slist_append(struct curl_slist *list, const char *s) {
	return curl_slist_append(list, s);
}

void mg_slist_free(struct curl_slist *list) { curl_slist_free_all(list); }

CURLMcode mg_multi_poll(CURLM *multi, int timeout_ms, int *numfds) {
	return curl_multi_poll(multi, NULL, 0, timeout_ms, numfds);
}

CURLMcode mg_multi_wakeup(CURLM *multi) { return curl_multi_wakeup(multi); }
