// The write path of a transfer: libcurl's write callback (mg_write)
// checks the response at its first body byte (status, Content-Range start,
// the version a resume asked for), opens the output and coalesces chunks
// into a buffer written in large pieces; the header callback notes where
// the header block ends. The optimizations each live in a file of their
// own, with their switch in mg_on: linker.c.

#include "xfer.h"
#include "dir.h"
#include "easy.h"
#include "linker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

mg_switches mg_on = {1, 1};

void mg_set_switches(mg_switches s) {
	mg_on = s;
	mg_unnamed_reset(s.unnamed);
}

// Memory held per transfer. A transfer's first buffer is as large as its
// body (up to MG_BUFCAP), and a small body stays whole in it until the
// transfer ends (longer when handed over), so a huge -j with thousands of
// transfers running held thousands of whole bodies: 2,000 x 100 KB at
// -j 100000 peaked at 375 MB. Those buffers together may hold at most
// MG_HOLD_BUDGET bytes; a transfer starting beyond it gets a buffer of
// MG_TIGHT_CAP bytes, written as it fills, and is never handed over. The
// budget is far above what -j 8 (or 16 large bodies) ever holds.
#define MG_HOLD_BUDGET (48 << 20)
#define MG_TIGHT_CAP (16 << 10)
static long long held_bytes; // first buffers and handed-over bodies, in bytes

void mg_unhold(long long n) {
	if (n > 0)
		__atomic_sub_fetch(&held_bytes, n, __ATOMIC_RELAXED);
}

void mg_body_free(char *buf, long long len) {
	free(buf);
	mg_unhold(len);
}

mg_xfer *mg_xfer_new(CURL *easy, const char *path, int check_http, mg_part *part) {
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
	x->limit = -1;
	x->check_http = check_http;
	x->part = part;
	return x;
}

int mg_xfer_expect(mg_xfer *x, long long offset, long long end, const char *ifrange) {
	x->offset = offset;
	if (end > offset)
		x->limit = end;
	free(x->ifrange);
	x->ifrange = NULL;
	if (ifrange && *ifrange && !(x->ifrange = strdup(ifrange)))
		return -1;
	return 0;
}

void mg_set_err(mg_xfer *x, int op, const char *path) {
	x->err = errno;
	x->errop = op;
	free(x->errpath);
	x->errpath = strdup(path);
}

int mg_mkdir_parents(mg_xfer *x, const char *path) {
	char *p = strdup(path);
	if (!p) {
		errno = ENOMEM;
		mg_set_err(x, MG_OP_MKDIR, path);
		return -1;
	}
	int rc = mg_mkdirs(p);
	if (rc != 0)
		mg_set_err(x, MG_OP_MKDIR, p);
	free(p);
	return rc;
}

int mg_pwrite_all(int fd, const char *buf, long long len, long long off) {
	for (long long done = 0; done < len;) {
		ssize_t k = pwrite(fd, buf + done, (size_t)(len - done), (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		done += k;
	}
	return 0;
}

// open_output opens the file at the first byte (cl: the Content-Length, -1
// when unknown). When resuming, it keeps the bytes before offset and
// writes after them; otherwise it starts empty.
static int open_output(mg_xfer *x, int resume, long long cl) {
	if (!resume) {
		int u = mg_unnamed_open(x, cl);
		if (u != 0)
			return u < 0 ? -1 : 0;
	}
	// A resume or a range continues a file that must be there (and, for a
	// resume, still hold the prefix): one that is gone, or shorter, was
	// renamed or removed since the entry looked (by the process that
	// wrote it, say); a file created now would have a hole where that
	// prefix was.
	int cont = resume || x->segment;
	int fd = -1, created = 0;
	mg_part local = {-1};
	mg_part *p = x->part ? x->part : &local;
	if (p->fd < 0) {
		int dfd;
		const char *base = mg_at(&mg_loop_dir, x->path, &dfd);
		p->fd = mg_part_lock(dfd, base, !cont, &created);
		int e = errno;
		mg_at_done(&mg_loop_dir);
		if (p->fd < 0 && e == ENOENT && !cont) {
			if (mg_mkdir_parents(x, x->path) != 0)
				return -1;
			// The cached directory may be one that was removed since.
			mg_dir_forget();
			base = mg_at(&mg_loop_dir, x->path, &dfd);
			p->fd = mg_part_lock(dfd, base, 1, &created);
			e = errno;
			mg_at_done(&mg_loop_dir);
		}
		if (p->fd < 0 && e == ENOENT && cont) {
			x->part_gone = 1;
			return -1;
		}
		errno = e;
		// A .part from an earlier run is replaced (truncated below). Noting
		// this spares Go from looking for a stale .meta beside every fresh
		// file.
		x->preexisted = p->fd >= 0 && !created;
	} else {
		x->preexisted = 1;
	}
	if (resume)
		x->preexisted = 1;
	if (p->fd >= 0)
		fd = p == &local ? p->fd : fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		mg_set_err(x, MG_OP_OPEN, x->path);
		if (p == &local)
			mg_part_release(p);
		return -1;
	}
	x->fd = fd;
	struct stat st;
	if (resume && !x->segment && fstat(fd, &st) == 0 && st.st_size < x->offset) {
		x->part_gone = 1;
		close(x->fd);
		x->fd = -1;
		return -1;
	}
	// Drop anything past offset (a prefix is all a resume may trust), or
	// everything of a fresh start; a segment writes inside a file other
	// segments share, and truncates nothing.
	if (!x->segment && !created && ftruncate(x->fd, resume ? (off_t)x->offset : 0) != 0) {
		mg_set_err(x, MG_OP_OPEN, x->path);
		close(x->fd);
		x->fd = -1;
		return -1;
	}
	x->wpos = resume ? x->offset : 0;
	return 0;
}

// probe_skip reads past up to MG_PROBE_BODY bytes of the error page of a
// probe's 416; it returns 0 (ending the transfer) for anything else.
static size_t probe_skip(mg_xfer *x, long code, size_t n) {
	if (!x->probe || code != 416 || x->skipped + (long long)n > MG_PROBE_BODY)
		return 0;
	x->skipped += (long long)n;
	return n;
}

// range_start parses the first byte position of "bytes START-END/TOTAL".
static long long range_start(const char *v) {
	if (!v)
		return -1;
	while (*v == ' ')
		v++;
	if (strncasecmp(v, "bytes", 5) != 0)
		return -1;
	v += 5;
	while (*v == ' ')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	return strtoll(v, NULL, 10);
}

// same_value compares two header values, blanks around them ignored.
static int same_value(const char *a, const char *b) {
	while (*a == ' ' || *a == '\t')
		a++;
	while (*b == ' ' || *b == '\t')
		b++;
	size_t la = strlen(a), lb = strlen(b);
	while (la > 0 && (a[la - 1] == ' ' || a[la - 1] == '\t'))
		la--;
	while (lb > 0 && (b[lb - 1] == ' ' || b[lb - 1] == '\t'))
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

// other_version tells whether a 206 names a version other than the one
// its request's If-Range asked for. A server that ignores If-Range answers
// a resume of a changed file with a range of the new version: appended,
// it would mix two versions. An entity tag (quoted, or anything that is
// not a date) is compared with the response's ETag, a date with its
// Last-Modified; a response without that header is taken at its word.
static int other_version(mg_xfer *x) {
	const char *want = x->ifrange;
	if (!want || !*want)
		return 0;
	while (*want == ' ')
		want++;
	int etag = *want == '"' || strncmp(want, "W/", 2) == 0 || curl_getdate(want, NULL) < 0;
	const char *got = mg_header(x->easy, etag ? "ETag" : "Last-Modified");
	return got && !same_value(got, want);
}

// write_all writes at the file position wpos with pwrite, so segments of
// a split download can share one file, each writing its own range.
static int write_all(mg_xfer *x, const char *p, size_t n) {
	int e = mg_pwrite_all(x->fd, p, (long long)n, x->wpos);
	if (e) {
		errno = e;
		mg_set_err(x, MG_OP_WRITE, x->path);
		return -1;
	}
	x->wpos += (long long)n;
	return 0;
}

static int flush(mg_xfer *x) {
	if (x->len == 0)
		return 0;
	int rc = write_all(x, x->buf, x->len);
	x->len = 0;
	return rc;
}

long long mg_xfer_flushed(mg_xfer *x) { return x->wpos; }

size_t mg_write(char *ptr, size_t size, size_t nmemb, void *ud) {
	mg_xfer *x = ud;
	size_t n = size * nmemb;
	if (x->state == MG_FRESH) {
		int resume = 0;
		curl_off_t cl = -1;
		curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (x->check_http) {
			long code = 0;
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
			x->code = code;
			if (code < 200 || code > 299) {
				x->state = MG_REJECTED;
				// Aborts the transfer: the error body is never stored. A
				// probe's 416 (rerun.go) is read to its end when short, so
				// that the connection serves the next request.
				return probe_skip(x, code, n);
			}
			if (code == 206) {
				// Only a range that starts exactly where the file ends may
				// be appended; anything else would mix wrong bytes into the
				// file. A probe of a saved file (rerun.go) appends nothing.
				if ((x->offset <= 0 && !x->segment) || x->probe ||
				    range_start(mg_header(x->easy, "Content-Range")) != x->offset) {
					x->state = MG_RANGE_BAD;
					return 0;
				}
				if (other_version(x)) {
					// Checked before a byte of it is kept.
					x->other_version = 1;
					x->state = MG_RANGE_BAD;
					return 0;
				}
				resume = 1;
			} else if (x->segment) {
				// A segment must get exactly its range: a 200 means the
				// server ignored it (the file changed, If-Range failed).
				x->state = MG_RANGE_BAD;
				return 0;
			} else if (x->offset > 0) {
				x->restarted = 1; // the server sent it all: start over
			}
			if (code == 200 && x->offset == 0 && x->split_min > 0 && cl >= x->split_min) {
				const char *ar = mg_header(x->easy, "Accept-Ranges");
				if (ar && strncasecmp(ar, "bytes", 5) == 0) {
					x->splittable = 1;
					x->total = cl;
				}
			}
		} else if (x->offset > 0) {
			resume = 1; // FTP REST: libcurl fails the transfer if refused
		}
		size_t want = (cl > 0 && cl < MG_BUFCAP) ? (size_t)cl : MG_BUFCAP;
		if (__atomic_add_fetch(&held_bytes, (long long)want, __ATOMIC_RELAXED) > MG_HOLD_BUDGET) {
			mg_unhold((long long)want);
			x->tight = 1;
			if (want > MG_TIGHT_CAP)
				want = MG_TIGHT_CAP;
		} else {
			x->held = (long long)want;
		}
		if (open_output(x, resume, cl) != 0) {
			x->state = x->part_gone ? MG_RANGE_BAD : MG_IOERR;
			return 0;
		}
		x->cap = want;
		x->buf = malloc(x->cap);
		if (!x->buf) {
			mg_unhold(x->held);
			x->held = 0;
			x->cap = 0; // degrade to unbuffered writes
			if (x->handover) {
				// Nowhere to keep the body: NAME.part, written here.
				x->handover = x->tmpfile = 0;
				if (open_output(x, 0, -1) != 0) {
					x->state = MG_IOERR;
					return 0;
				}
			}
		}
		x->state = MG_WRITING;
	} else if (x->state == MG_REJECTED) {
		return probe_skip(x, x->code, n);
	} else if (x->state != MG_WRITING) {
		return 0;
	}
	size_t take = n;
	if (x->limit >= 0 && x->offset + x->bytes + (long long)n > x->limit) {
		// The rest of the body belongs to another segment.
		take = x->limit > x->offset + x->bytes ? (size_t)(x->limit - x->offset - x->bytes) : 0;
		x->limit_hit = 1;
	}
	n = take;
	const char *p = ptr;
	size_t left = n;
	if (left >= x->cap && !x->handover) {
		// A chunk as large as the buffer (or no buffer): nothing to gain
		// from copying it.
		if (flush(x) != 0 || write_all(x, p, left) != 0) {
			x->state = MG_IOERR;
			return 0;
		}
		left = 0;
	}
	while (left > 0) {
		if (x->len == x->cap && flush(x) != 0) {
			x->state = MG_IOERR;
			return 0;
		}
		size_t k = x->cap - x->len;
		if (k > left)
			k = left;
		memcpy(x->buf + x->len, p, k);
		x->len += k;
		p += k;
		left -= k;
	}
	x->bytes += (long long)n;
	if (x->limit_hit)
		return 0; // ends the transfer (CURLE_WRITE_ERROR), by design
	return size * nmemb;
}


int mg_xfer_finish(mg_xfer *x) {
	if (x->state == MG_FRESH) {
		if (open_output(x, 0, 0) != 0) {
			x->state = MG_IOERR;
			return -1;
		}
		x->state = MG_WRITING;
	}
	if (x->state != MG_WRITING)
		return -1;
	if (x->handover)
		return 0; // the body goes to the linker: mg_xfer_take_body
	int rc = flush(x);
	if (x->tmpfile && rc == 0)
		return 0; // the descriptor goes to the linker: mg_xfer_take_fd
	if (close(x->fd) != 0 && rc == 0) {
		mg_set_err(x, MG_OP_CLOSE, x->path);
		rc = -1;
	}
	x->fd = -1;
	if (rc != 0)
		x->state = MG_IOERR;
	return rc;
}

int mg_xfer_take_body(mg_xfer *x, char **buf, long long *len) {
	if (!x->handover || x->state != MG_WRITING)
		return -1;
	*buf = x->buf;
	*len = (long long)x->len;
	// What stays held is the body's length, until the linker frees it.
	mg_unhold(x->held - (long long)x->len);
	x->held = 0;
	x->buf = NULL;
	x->len = x->cap = 0;
	return 0;
}

int mg_xfer_take_fd(mg_xfer *x) {
	if (!x->tmpfile || x->handover || x->state != MG_WRITING)
		return -1;
	int fd = x->fd;
	x->fd = -1;
	return fd;
}

int mg_xfer_keep(mg_xfer *x) {
	if (x->fd < 0)
		return 0;
	if (x->tmpfile) {
		// An unnamed file has nothing to keep: closing drops it. (The
		// engine never asks; this keeps the call safe.)
		close(x->fd);
		x->fd = -1;
		return 0;
	}
	int rc = flush(x);
	if (close(x->fd) != 0 && rc == 0) {
		mg_set_err(x, MG_OP_CLOSE, x->path);
		rc = -1;
	}
	x->fd = -1;
	return rc;
}

void mg_xfer_discard(mg_xfer *x) {
	if (x->fd >= 0) {
		close(x->fd);
		x->fd = -1;
	}
}

void mg_xfer_free(mg_xfer *x) {
	if (!x)
		return;
	mg_conn_forget(x);
	mg_unhold(x->held);
	if (x->fd >= 0)
		close(x->fd);
	free(x->buf);
	curl_slist_free_all(x->headers);
	free(x->ifrange);
	free(x->path);
	free(x->errpath);
	free(x);
}

// mg_header_line notes whether the last response's header block ended: a
// status line starts a block (a redirect's, a 1xx's, a proxy's, then the
// final one), the blank line ends it. libcurl passes every header line
// here, that blank line included, for HTTP/1.x and HTTP/2 alike; a
// connection closed inside the block never gets to it, and libcurl then
// ends the transfer without an error (see mg_xfer_incomplete).
size_t mg_header_line(char *p, size_t size, size_t nmemb, void *ud) {
	mg_xfer *x = ud;
	size_t n = size * nmemb;
	if (!x)
		return n;
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		x->hdr_end = 0;
		mg_conn_response(x);
	}
	else if ((n == 2 && p[0] == '\r' && p[1] == '\n') || (n == 1 && p[0] == '\n'))
		x->hdr_end = 1;
	return n;
}

int mg_xfer_incomplete(mg_xfer *x, long long *want) {
	if (!x->check_http)
		return 0;
	if (!x->hdr_end)
		return 1;
	long code = 0;
	curl_off_t cl = -1;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code == 204 || curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK || cl < 0)
		return 0;
	// An encoded body is counted decoded; a chunked one is framed by its
	// chunks, whatever Content-Length says.
	if (mg_header(x->easy, "Content-Encoding") || mg_header(x->easy, "Transfer-Encoding"))
		return 0;
	if (x->bytes < (long long)cl) {
		*want = (long long)cl;
		return 2;
	}
	return 0;
}

