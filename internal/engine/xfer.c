// renameat2 and RENAME_NOREPLACE.
#define _GNU_SOURCE

#include "xfer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>

// Large enough that a fast transfer costs few write(2) calls, small enough
// that -j transfers stay cheap; small bodies get a buffer of their own size.
// (Measured on 4 x 256 MiB: 256 KiB beat 1 MiB and 4 MiB.)
#define MG_BUFCAP (256 * 1024)

static long high_sockets;

// The output directory, opened once. Files are created and renamed
// relative to it, so the kernel walks one path component per call instead
// of the whole path three times (open, and both names of the rename):
// measured on tmpfs, 12.7 against 14.2 us per file for open + write +
// close + rename under a 7-component directory. One entry: lists mostly
// write into one directory. A cached directory that is moved keeps
// receiving files; one that is removed refuses new ones (ENOENT), as a
// path would. One cache per thread that names files: the loop's, and the
// linker's (see "Small files").
struct dircache {
	pthread_mutex_t mu;
	char *name;
	size_t len;
	int fd;
	int clean; // linker: -1 unknown, else dir_clean of fd
};
static struct dircache loop_dir = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, -1, -1};
static struct dircache link_dir = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, -1, -1};

// at_dir resolves path to (directory descriptor, last component) and
// returns with c->mu held; at_done releases it. Paths without a directory,
// or whose directory cannot be opened (missing: the caller creates it),
// resolve to (AT_FDCWD, path).
static const char *at_dir_in(struct dircache *c, const char *path, int *dfd) {
	pthread_mutex_lock(&c->mu);
	*dfd = AT_FDCWD;
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return path;
	size_t n = (size_t)(slash - path);
	if (c->fd >= 0 && n == c->len && memcmp(path, c->name, n) == 0) {
		*dfd = c->fd;
		return slash + 1;
	}
	char *d = strndup(path, n);
	if (!d)
		return path;
	int fd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(d);
		return path;
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->name);
	c->name = d;
	c->len = n;
	c->fd = fd;
	c->clean = -1;
	*dfd = fd;
	return slash + 1;
}

static void at_done_in(struct dircache *c) { pthread_mutex_unlock(&c->mu); }

static const char *at_dir(const char *path, int *dfd) { return at_dir_in(&loop_dir, path, dfd); }
static void at_done(void) { at_done_in(&loop_dir); }

static void forget_in(struct dircache *c) {
	pthread_mutex_lock(&c->mu);
	if (c->fd >= 0)
		close(c->fd);
	free(c->name);
	c->name = NULL;
	c->len = 0;
	c->fd = -1;
	pthread_mutex_unlock(&c->mu);
}

void mg_dir_forget(void) {
	forget_in(&loop_dir);
	forget_in(&link_dir);
}

// The next run may find directories changed (or new ones under old
// inode numbers): what dir_clean learnt is forgotten too.
static unsigned clean_gen;
void mg_run_done(void) {
	mg_dir_forget();
	__atomic_add_fetch(&clean_gen, 1, __ATOMIC_RELEASE);
}

static int open_at(const char *path, int flags) {
	int dfd;
	const char *base = at_dir(path, &dfd);
	int fd = openat(dfd, base, flags, 0666);
	int e = errno;
	at_done();
	errno = e;
	return fd;
}

int mg_rename(const char *from, const char *to, int noreplace) {
	int dfd;
	const char *fb = at_dir(from, &dfd);
	// from and to share their directory (NAME.part beside NAME), but check:
	// to must have the same directory part and no other slash after it.
	size_t off = (size_t)(fb - from);
	const char *tb = to;
	if (dfd != AT_FDCWD && strlen(to) > off && strncmp(from, to, off) == 0 && !strchr(to + off, '/')) {
		tb = to + off;
	} else {
		dfd = AT_FDCWD;
		fb = from;
	}
	int rc = noreplace ? renameat2(dfd, fb, dfd, tb, RENAME_NOREPLACE) : renameat(dfd, fb, dfd, tb);
	int e = rc == 0 ? 0 : errno;
	at_done();
	return e;
}

mg_xfer *mg_xfer_new(CURL *easy, const char *path, int check_http, mg_pauser *pauser, mg_part *part) {
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
	x->pauser = pauser;
	x->part = part;
	x->sock = -1;
	return x;
}

static void set_err(mg_xfer *x, int op, const char *path) {
	x->err = errno;
	x->errop = op;
	free(x->errpath);
	x->errpath = strdup(path);
}

// mkdirs creates the missing directories above the last component of p
// (mkdir -p of its directory). Returns 0, or -1 with errno set and p cut
// at the directory that could not be made.
static int mkdirs(char *p) {
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

// Creates the missing parents of path, like mkdir -p on its directory.
static int mkdir_parents(mg_xfer *x, const char *path) {
	char *p = strdup(path);
	if (!p) {
		errno = ENOMEM;
		set_err(x, MG_OP_MKDIR, path);
		return -1;
	}
	int rc = mkdirs(p);
	if (rc != 0)
		set_err(x, MG_OP_MKDIR, p);
	free(p);
	return rc;
}

// Small files. A body of at most MG_TMPFILE_MAX bytes (known from
// Content-Length) that starts a file afresh is written to an unnamed file
// (O_TMPFILE) in the output directory, and a helper thread, the linker,
// gives it its final name with linkat(2) once it is complete. No name, not
// even NAME.part, ever shows a partial file; an attempt that fails leaves
// nothing behind (such a body is fetched again whole, never resumed). The
// loop thread thus makes no change to the directory per file: creating
// NAME.part and renaming it took both a directory lock and about a third
// of the loop's time on 2,000 files of 8 KiB, and renaming on another
// thread alone made the two contend for that lock. Measured on tmpfs, 2
// cores, nginx on the same host (medians of interleaved runs): 20,000 x
// 1 B 767 against 836 ms (9 runs), 2,000 x 8 KiB 96 against 102 ms over
// HTTP/1.1 and 120 against 127 ms over HTTP/2 (15 runs).
//
// Filesystems without O_TMPFILE turn this off for the rest of the run.
// Kernels before 6.10 let only privileged callers link a descriptor
// (AT_EMPTY_PATH); then /proc/self/fd/N is linked instead, and where that
// fails too the bytes are copied into NAME.part, which is renamed.
#define MG_TMPFILE_MAX MG_BUFCAP
// Hand-over. While the linker keeps up (fewer than MG_HANDOVER_MAX files
// waiting), a body of MG_HANDOVER_MIN bytes or more is not written by the
// loop at all: it stays in the transfer's buffer, which goes to the
// linker, and the linker creates the unnamed file, writes it and links
// it. Creating and writing a file cost a quarter of the loop's time on
// 2,000 x 8 KiB over HTTP/2. Smaller bodies cost less to write than to
// hand over: on 20,000 x 1 B handing every one over took 806 against
// 732 ms, the server and the linker then sharing the other core.
#define MG_HANDOVER_MIN 4096
#define MG_HANDOVER_MAX 16
static int link_backlog(void);

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

static void unhold(long long n) {
	if (n > 0)
		__atomic_sub_fetch(&held_bytes, n, __ATOMIC_RELAXED);
}

long long mg_held_bytes(void) { return __atomic_load_n(&held_bytes, __ATOMIC_RELAXED); }

void mg_body_free(char *buf, long long len) {
	free(buf);
	unhold(len);
}

static int tmp_on = 1;   // unnamed files in use
static int link_how = 1; // 1: linkat(AT_EMPTY_PATH), 2: /proc/self/fd/N, 3: copy
static int tmp_refused;  // test hook: O_TMPFILE fails as where unsupported

void mg_tmpfile_mode(int mode) {
	__atomic_store_n(&tmp_on, mode != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&link_how, mode == 0 || mode == 4 ? 1 : mode, __ATOMIC_RELAXED);
	__atomic_store_n(&tmp_refused, mode == 4, __ATOMIC_RELAXED);
}

int mg_tmpfile_state(void) {
	return __atomic_load_n(&tmp_on, __ATOMIC_RELAXED) * 10 + __atomic_load_n(&link_how, __ATOMIC_RELAXED);
}

// open_tmp opens an unnamed file in the directory of x->path; -1 when it
// cannot (the caller then opens NAME.part, which reports any real error),
// -2 when creating the missing directory failed (err says why).
static int open_tmp(mg_xfer *x) {
	for (int tries = 0; tries < 2; tries++) {
		int dfd, fd = -1, e = ENOENT;
		const char *base = at_dir(x->path, &dfd);
		// (AT_FDCWD, a path with a directory): that directory would not
		// open, so it is likely missing.
		if (dfd != AT_FDCWD || (base == x->path && !strchr(x->path, '/'))) {
			// O_RDWR: where it cannot be linked, its bytes are read back.
			fd = openat(dfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0666);
			e = errno;
			if (fd >= 0 && __atomic_load_n(&tmp_refused, __ATOMIC_RELAXED)) {
				close(fd);
				fd = -1;
				e = EOPNOTSUPP;
			}
		}
		at_done();
		if (fd >= 0)
			return fd;
		if (e == ENOENT && tries == 0) {
			// The directory is missing: create it as for NAME.part.
			if (mkdir_parents(x, x->path) != 0)
				return -2;
			mg_dir_forget();
			continue;
		}
		if (e == EOPNOTSUPP || e == EISDIR || e == EINVAL)
			__atomic_store_n(&tmp_on, 0, __ATOMIC_RELAXED);
		return -1;
	}
	return -1;
}

// Owning NAME.part. Two multiget runs on one directory whose lists overlap
// both want the same NAME.part, and a second opener that truncated or wrote
// it would leave the first with a file of mixed and missing bytes, which
// the first would then rename into place as complete. So a NAME.part is
// written only by the process holding flock(LOCK_EX) on it, taken before
// any truncation and held until the file is renamed or removed: the entry
// keeps one locked descriptor (mg_part) and each of its transfers writes
// through a dup of it (a lock belongs to the open file, so the ranges of a
// split download share it; descriptors opened separately would conflict
// even within one process). Another process finds the lock taken
// (EWOULDBLOCK) and leaves the file and its .meta alone. After taking the
// lock, the file must still be the one at that name: its owner may have
// renamed or removed it between our open and our lock, and then the
// descriptor is of a file that is not, or no longer, NAME.part. Where a
// filesystem has no flock, files are written unlocked, as before.
static int part_lock_at(int dfd, const char *base, int create, int *created) {
	for (int tries = 0; tries < 8; tries++) {
		int fd = -1, made = 0;
		if (create) {
			// O_NOFOLLOW: a planted NAME.part symlink must not redirect the write.
			fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
			made = fd >= 0;
			if (fd < 0 && errno != EEXIST)
				return -1;
		}
		if (fd < 0) {
			fd = openat(dfd, base, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0) {
				if (errno == ENOENT && create)
					continue; // removed since: create it
				return -1;
			}
		}
		int rc;
		while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
		}
		if (rc != 0 && errno == EWOULDBLOCK) {
			close(fd);
			errno = EWOULDBLOCK;
			return -1;
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && fstatat(dfd, base, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			if (created)
				*created = made;
			return fd;
		}
		close(fd); // renamed or removed by its owner meanwhile
		if (!create) {
			errno = ENOENT;
			return -1;
		}
	}
	errno = EWOULDBLOCK; // it keeps changing hands
	return -1;
}

mg_part *mg_part_new(void) {
	mg_part *p = malloc(sizeof *p);
	if (p)
		p->fd = -1;
	return p;
}

static void part_release(mg_part *p) {
	if (p && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

void mg_part_free(mg_part *p) {
	part_release(p);
	free(p);
}

int mg_part_hold(mg_part *p, const char *path) {
	if (p->fd >= 0)
		return 0;
	int dfd;
	const char *base = at_dir(path, &dfd);
	p->fd = part_lock_at(dfd, base, 0, NULL);
	int e = p->fd < 0 ? errno : 0;
	at_done();
	return e;
}

// remove_part_at removes dfd/part and (with meta) dfd/part.meta, the .meta
// first, when fd (the part's locked descriptor, or -1) holds it or nothing
// does: a .meta is never left describing a NAME.part of another process.
// part must have room for ".meta" after it. Returns 0 or EWOULDBLOCK.
static int remove_part_at(int dfd, char *part, int fd, int meta) {
	int own = fd < 0, link = 0;
	if (own)
		fd = part_lock_at(dfd, part, 0, NULL);
	// A symlink planted at NAME.part (O_NOFOLLOW refused it) is no
	// process's download: it goes, itself, never what it points to.
	if (fd < 0 && errno == ELOOP)
		link = 1;
	else if (fd < 0 && errno != ENOENT)
		return errno == EWOULDBLOCK ? EWOULDBLOCK : 0; // not ours, or not there to remove
	if (meta) {
		size_t n = strlen(part);
		memcpy(part + n, ".meta", sizeof ".meta");
		unlinkat(dfd, part, 0);
		part[n] = 0;
	}
	if (fd >= 0 || link)
		unlinkat(dfd, part, 0);
	if (fd >= 0 && own)
		close(fd);
	return 0;
}

int mg_part_remove(mg_part *p, const char *path, int meta) {
	int dfd;
	const char *base = at_dir(path, &dfd);
	size_t n = strlen(base);
	char *part = malloc(n + sizeof ".meta");
	int e = ENOMEM;
	if (part) {
		memcpy(part, base, n + 1);
		e = remove_part_at(dfd, part, p ? p->fd : -1, meta);
		free(part);
	}
	at_done();
	part_release(p);
	return e;
}

// open_output opens the file at the first byte (cl: the Content-Length, -1
// when unknown). When resuming, it keeps the bytes before offset and
// writes after them; otherwise it starts empty.
static int open_output(mg_xfer *x, int resume, long long cl) {
	// Not a response about to become the first range of a split download.
	if (x->tmp_ok && !resume && !x->segment && !x->splittable && x->offset == 0 && cl >= 0 && cl <= MG_TMPFILE_MAX &&
	    __atomic_load_n(&tmp_on, __ATOMIC_RELAXED)) {
		if (cl >= MG_HANDOVER_MIN && !x->tight && link_backlog() < MG_HANDOVER_MAX) {
			x->tmpfile = 1;
			x->handover = 1;
			x->wpos = 0;
			return 0; // no descriptor: the body stays in buf
		}
		int fd = open_tmp(x);
		if (fd == -2)
			return -1; // mkdir failed: err says why
		if (fd >= 0) {
			x->fd = fd;
			x->tmpfile = 1;
			x->wpos = 0;
			return 0;
		}
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
		const char *base = at_dir(x->path, &dfd);
		p->fd = part_lock_at(dfd, base, !cont, &created);
		int e = errno;
		at_done();
		if (p->fd < 0 && e == ENOENT && !cont) {
			if (mkdir_parents(x, x->path) != 0)
				return -1;
			// The cached directory may be one that was removed since.
			mg_dir_forget();
			base = at_dir(x->path, &dfd);
			p->fd = part_lock_at(dfd, base, 1, &created);
			e = errno;
			at_done();
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
		set_err(x, MG_OP_OPEN, x->path);
		if (p == &local)
			part_release(p);
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
		set_err(x, MG_OP_OPEN, x->path);
		close(x->fd);
		x->fd = -1;
		return -1;
	}
	x->wpos = resume ? x->offset : 0;
	return 0;
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
// it would splice two versions. An entity tag (quoted, or anything that is
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

// write_all writes at the file position wpos with pwrite, so segments of a
// split download can share one file, each writing its own range.
static int write_all(mg_xfer *x, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = pwrite(x->fd, p, n, (off_t)x->wpos);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			set_err(x, MG_OP_WRITE, x->path);
			return -1;
		}
		p += w;
		n -= (size_t)w;
		x->wpos += w;
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

// Background writers. A body larger than one buffer hands its full buffers
// to a writer thread, which writes them with pwrite at their file position
// while the loop goes on receiving. Each transfer sticks to one writer, so
// its buffers are written in order and wpos only ever grows. A transfer
// holds up to MG_WBUFS buffers, allocated as it needs them, and all
// transfers together about MG_WBUF_BUDGET. When none is free, an HTTP/1.x
// transfer is paused (below) and the loop goes on with the others; any
// other transfer makes the loop wait for one to come back.
//
// Why: copying into freshly allocated page-cache pages is the dearest part
// of a large download, and on the loop thread it capped every transfer at
// one core, shared with receiving. Measured on 4 x 256 MiB to tmpfs on 2
// cores: 756-1425 ms on the loop thread alone, 621-847 ms with writers.
// 16 buffers per transfer were no faster than 8 (0.65-0.71 s against
// 0.67-0.73 s) but took 8 MiB more peak RSS; 4 were slower (0.68-0.85 s).
#define MG_WBUFS 8
#define MG_WBUF_BUDGET 32
#define MG_WRITERS_MAX 4
#define MG_SJOBS 16            // spliced pieces queued per transfer
#define MG_SBYTES (8 << 20)    // and their bytes at most
#define MG_SPLICE_MIN (64 << 10) // less room than this: the buffered path
#define MG_PIPES 64            // pipes in all, for spliced pieces
#define MG_PIPE_SIZE (512 << 10) // libcurl reads at most this much at once

typedef struct mg_wjob {
	struct mg_wjob *next; // (pool) queue link
	mg_xfer *x;
	int pipe;             // a spliced piece: its pipe (index), else -1
	char *data;           // MG_BUFCAP bytes, allocated on first use
	long long off;        // file position of data[0]
	size_t len;
	int busy;             // (pool) queued or being written
} mg_wjob;

typedef struct {
	pthread_cond_t cv; // work for this writer
	mg_wjob *head, *tail;
	int idle;
} mg_wqueue;

static int write_piece(mg_xfer *x, mg_wjob *j);
static void mux_note(CURL *easy);
static void pipe_release_locked(int i, int dirty);
static void direct_start(mg_xfer *x);
static void direct_stop(mg_xfer *x);
static void direct_forget(int s);

static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	pthread_cond_t back; // a buffer came back to a waiting transfer
	mg_wqueue q[MG_WRITERS_MAX];
	int n;    // writer threads running (0: write on the loop thread)
	int next; // round-robin assignment
	int bufs; // buffers held by transfers that write through the pool
} pool = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

// enqueue_locked appends j to a writer's queue and wakes it if idle.
static void enqueue_locked(int writer, mg_wjob *j) {
	mg_wqueue *q = &pool.q[writer];
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	if (q->idle)
		pthread_cond_signal(&q->cv);
}

static long async_transfers; // for tests: how many went to a writer

long mg_async_transfers(void) { return __atomic_load_n(&async_transfers, __ATOMIC_RELAXED); }

// For tests: writers hold each buffer until released, so that the loop
// meets buffers still queued.
static int writers_held;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;

void mg_writers_hold(int on) {
	pthread_mutex_lock(&pool.mu);
	writers_held = on;
	if (!on)
		pthread_cond_broadcast(&held_cv);
	pthread_mutex_unlock(&pool.mu);
}

// Pausing. A transfer over HTTP/1.x that has no room for the next chunk
// (its buffers are all with the writer) is paused with
// CURL_WRITEFUNC_PAUSE instead of making the loop wait, so the loop goes on
// with the other transfers. Its writer wakes the loop through the engine's
// eventfd once half of the transfer's buffers are back (all, when it holds
// one), and the loop unpauses it in mg_unpause. HTTP/2 streams and other
// protocols still wait.
static void queue_locked(mg_xfer *x);

struct mg_pauser {
	int fd;           // eventfd, readable when a paused transfer may go on
	int pending;      // (pool) fd holds a wake-up not yet read
	mg_xfer *head;    // paused transfers (loop thread)
	mg_xfer *starved; // transfers to pause at the next mg_unpause (loop thread)
};

static long pauses; // for tests: how many times a transfer was paused

long mg_pauses(void) { return __atomic_load_n(&pauses, __ATOMIC_RELAXED); }

mg_pauser *mg_pauser_new(void) {
	mg_pauser *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->fd < 0) {
		free(p);
		return NULL;
	}
	return p;
}

// mg_pauser_free comes after every transfer that used p has been freed.
void mg_pauser_free(mg_pauser *p) {
	if (!p)
		return;
	close(p->fd);
	free(p);
}

int mg_pauser_fd(mg_pauser *p) { return p ? p->fd : -1; }

// ready_locked: x, paused, has enough buffers and spliced pieces back to
// go on.
static int ready_locked(mg_xfer *x) {
	int held = 0;
	for (int i = 0; i < MG_WBUFS; i++)
		held += x->jobs[i].data != NULL;
	return (x->inflight - x->sinflight) * 2 <= held && x->sinflight * 2 <= MG_SJOBS &&
	       x->squeued * 2 <= MG_SBYTES;
}

// kick_locked wakes the loop for x when x may go on; called by writers.
static void kick_locked(mg_xfer *x) {
	if (!x->paused || x->kicked || !ready_locked(x))
		return;
	x->kicked = 1;
	mg_pauser *p = x->pauser;
	if (p->pending)
		return;
	__atomic_store_n(&p->pending, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	while (write(p->fd, &one, sizeof one) < 0 && errno == EINTR) {
	}
}

// pause_locked queues what x has buffered, so that a buffer comes back,
// and puts x on the paused list.
static void pause_locked(mg_xfer *x) {
	if (x->buf && x->len > 0)
		queue_locked(x);
	x->paused = 1;
	x->kicked = 0;
	x->pnext = x->pauser->head;
	x->pauser->head = x;
	__atomic_add_fetch(&pauses, 1, __ATOMIC_RELAXED);
}

// unlink_paused takes x off the paused list: it is finished or dropped,
// and must not be unpaused any more.
static void unlink_paused(mg_xfer *x) {
	if (x->starved) {
		for (mg_xfer **pp = &x->pauser->starved; *pp; pp = &(*pp)->snext) {
			if (*pp == x) {
				*pp = x->snext;
				break;
			}
		}
		x->snext = NULL;
		x->starved = 0;
	}
	if (!x->paused)
		return;
	for (mg_xfer **pp = &x->pauser->head; *pp; pp = &(*pp)->pnext) {
		if (*pp == x) {
			*pp = x->pnext;
			break;
		}
	}
	x->pnext = NULL;
	pthread_mutex_lock(&pool.mu);
	x->paused = 0;
	x->kicked = 0;
	pthread_mutex_unlock(&pool.mu);
}

int mg_unpause(mg_pauser *p) {
	if (!p)
		return 0;
	if (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&pool.mu);
		uint64_t v;
		while (read(p->fd, &v, sizeof v) < 0 && errno == EINTR) {
		}
		__atomic_store_n(&p->pending, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&pool.mu);
	}
	// Transfers whose spliced pieces are all queued (see direct_recv):
	// paused here, outside libcurl, unless pieces came back meanwhile.
	while (p->starved) {
		mg_xfer *x = p->starved;
		p->starved = x->snext;
		x->snext = NULL;
		x->starved = 0;
		pthread_mutex_lock(&pool.mu);
		int ready = ready_locked(x);
		if (!ready)
			pause_locked(x);
		pthread_mutex_unlock(&pool.mu);
		// Both directions: pausing only one makes libcurl try the other
		// at once (the request is long sent).
		if (!ready)
			curl_easy_pause(x->easy, CURLPAUSE_ALL);
	}
	mg_xfer *list = p->head;
	p->head = NULL;
	int n = 0;
	while (list) {
		mg_xfer *x = list;
		list = x->pnext;
		x->pnext = NULL;
		pthread_mutex_lock(&pool.mu);
		int ready = ready_locked(x);
		if (ready) {
			x->paused = 0;
			x->kicked = 0;
		}
		pthread_mutex_unlock(&pool.mu);
		if (!ready) {
			x->pnext = p->head;
			p->head = x;
			continue;
		}
		n++;
		// Hands over what libcurl kept, through mg_write, which may pause
		// x again. A failure there (the writer failed meanwhile) leaves
		// x->state at MG_IOERR, which the end of the transfer reports.
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
	return n;
}

static void *writer_main(void *arg) {
	mg_wqueue *q = arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (!q->head) {
			q->idle = 1;
			pthread_cond_wait(&q->cv, &pool.mu);
			q->idle = 0;
		}
		mg_wjob *j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		while (writers_held)
			pthread_cond_wait(&held_cv, &pool.mu);
		mg_xfer *x = j->x;
		int skip = x->wfail; // after a failure, nothing more is written
		pthread_mutex_unlock(&pool.mu);
		int e = 0;
		const char *p = j->data;
		size_t n = j->len;
		off_t off = (off_t)j->off;
		if (j->pipe >= 0) {
			e = skip ? 0 : write_piece(x, j);
			n = 0;
		}
		while (!skip && n > 0) {
			ssize_t w = pwrite(x->fd, p, n, off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				e = errno;
				break;
			}
			p += w;
			n -= (size_t)w;
			off += w;
		}
		pthread_mutex_lock(&pool.mu);
		if (e && !x->wfail) {
			errno = e;
			set_err(x, MG_OP_WRITE, x->path);
			__atomic_store_n(&x->wfail, 1, __ATOMIC_RELEASE);
		} else if (!skip && !e) {
			__atomic_store_n(&x->wpos, j->off + (long long)j->len, __ATOMIC_RELEASE);
		}
		if (j->pipe >= 0) {
			pipe_release_locked(j->pipe, skip || e);
			j->pipe = -1;
			x->sinflight--;
			x->squeued -= (long long)j->len;
		}
		j->busy = 0;
		x->inflight--;
		if (x->waiting)
			pthread_cond_broadcast(&pool.back);
		kick_locked(x);
	}
	return NULL;
}

// start_helper starts a detached thread of ours running fn(arg): no
// signals (the Go runtime's threads handle them), a small stack. Returns 0
// or pthread_create's error.
static int start_helper(void *(*fn)(void *), void *arg) {
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_t t;
	int rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void pool_start(void) {
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus < 1 ? 1 : cpus > MG_WRITERS_MAX ? MG_WRITERS_MAX : (int)cpus;
	int n = 0;
	for (; n < want; n++) {
		pthread_cond_init(&pool.q[n].cv, NULL);
		if (start_helper(writer_main, &pool.q[n]) != 0)
			break;
	}
	pthread_mutex_lock(&pool.mu);
	pool.n = n;
	pthread_mutex_unlock(&pool.mu);
}

// Spliced receive. Moving the bytes is the dearest part of a large
// download: the kernel copies them from the socket into libcurl's buffer,
// mg_write copies them into ours, and the kernel copies them once more
// into the file, the first two on the loop thread. For an HTTP/1.x body
// over plain TCP, libcurl reads straight from the socket with recv(2) and
// passes the bytes on untouched (no chunked framing, no decoding), so its
// recv is answered here: splice(2) moves the bytes from the socket into a
// pipe (the kernel hands over page references, no copy), the count goes
// back to libcurl as if received, and the transfer's writer splices the
// piece from the pipe into the file at its position. One copy instead of
// three, and none on the loop thread. Measured on 4 x 256 MiB to tmpfs on
// 2 cores, 11 interleaved runs: median 784 ms before, 553 ms now (wget2:
// 657 ms); CPU per run (both cores, /proc/stat) 1.26-1.39 s before, 0.95-
// 1.17 s now. Pieces per transfer: 4 gave 0.60 s, 8 0.52 s, 16 0.50 s.
//
// It takes part only where it cannot change a byte:
//   - a transfer registers once its body goes to a writer: HTTP/1.x, a
//     Content-Length, no Transfer-Encoding or Content-Encoding;
//   - it learns libcurl's socket and buffer from a plain recv, made after
//     it registered, whose bytes its next chunk is seen to come from; over
//     TLS (to the server or to a proxy) they never are, as OpenSSL reads
//     into its own buffer and decrypts into libcurl's, so after four such
//     chunks the transfer gives up;
//   - a recv is spliced only on that socket, into that buffer, never past
//     the body's end or the segment's limit (so a reused connection's next
//     response is never touched), and never while libcurl holds bytes of a
//     pause (they go to the file first);
//   - a transfer unregisters when it ends, fails, hits its limit, or when
//     libcurl closes its socket (mg_closesocket), before the descriptor
//     number can be reused.
// Anything else, or no free pipe, is a plain recv: the buffered path
// above, which pauses when the writer falls behind.
//
// A transfer's fields are its loop thread's; the registry, and what other
// threads read of a registered transfer (direct, sock, lbuf), are under
// direct_mu, so that engines running side by side in one process never
// see each other's transfers half-changed.
#define MG_DIRECT_MAX 64
static pthread_mutex_t direct_mu = PTHREAD_MUTEX_INITIALIZER;
static mg_xfer *direct_reg[MG_DIRECT_MAX];
static int direct_n; // (direct_mu) written; read atomically without it
static int splice_off;
static long long spliced_bytes; // for tests

long long mg_spliced_bytes(void) { return __atomic_load_n(&spliced_bytes, __ATOMIC_RELAXED); }
void mg_splice_enable(int on) { __atomic_store_n(&splice_off, !on, __ATOMIC_RELAXED); }

// The last plain recv on this thread while a transfer is learning.
static __thread int last_fd = -1;
static __thread char *last_buf;
static __thread size_t last_n;
static __thread unsigned long last_seq; // counts them

// Pipes, shared by all transfers, opened as first needed; a piece holds
// one from the splice into it until its writer has emptied it, so the two
// never contend for it. (pool)
static struct {
	int fd[2];
	unsigned char open, busy;
} pipes[MG_PIPES];

// pipe_take_locked returns a free, empty pipe, or -1.
static int pipe_take_locked(void) {
	for (int i = 0; i < MG_PIPES; i++) {
		if (pipes[i].busy)
			continue;
		if (!pipes[i].open) {
			if (pipe2(pipes[i].fd, O_CLOEXEC) != 0)
				return -1;
			// Best effort: a smaller pipe only moves less per call.
			fcntl(pipes[i].fd[1], F_SETPIPE_SZ, MG_PIPE_SIZE);
			pipes[i].open = 1;
		}
		pipes[i].busy = 1;
		return i;
	}
	return -1;
}

// pipe_release_locked frees pipe i; one that may not be empty is closed.
static void pipe_release_locked(int i, int dirty) {
	if (dirty && pipes[i].open) {
		close(pipes[i].fd[0]);
		close(pipes[i].fd[1]);
		pipes[i].open = 0;
	}
	pipes[i].busy = 0;
}

// write_piece moves a spliced piece from its pipe into the file. Returns 0
// or an errno value.
static int write_piece(mg_xfer *x, mg_wjob *j) {
	int in = pipes[j->pipe].fd[0];
	loff_t off = j->off;
	size_t n = j->len;
	while (n > 0) {
		ssize_t w = splice(in, NULL, x->fd, &off, n, SPLICE_F_MOVE);
		if (w > 0) {
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			return EIO; // cannot happen: the pipe holds the whole piece
		if (errno != EINVAL && errno != ENOSYS)
			return errno;
		// A file system that takes no splice: read and write instead.
		char *b = malloc(64 << 10);
		if (!b)
			return ENOMEM;
		int e = 0;
		while (n > 0 && !e) {
			ssize_t r = read(in, b, n < (64 << 10) ? n : (64 << 10));
			if (r <= 0) {
				e = r < 0 && errno == EINTR ? 0 : r < 0 ? errno : EIO;
				continue;
			}
			for (ssize_t d = 0; d < r && !e;) {
				ssize_t k = pwrite(x->fd, b + d, (size_t)(r - d), off);
				if (k < 0)
					e = errno == EINTR ? 0 : errno;
				else
					d += k, off += k;
			}
			n -= (size_t)r;
		}
		free(b);
		return e;
	}
	return 0;
}

static void direct_start(mg_xfer *x) {
	if (x->direct != MG_DIRECT_NOT_YET)
		return;
	x->direct = MG_DIRECT_NEVER;
	if (__atomic_load_n(&splice_off, __ATOMIC_RELAXED))
		return;
	curl_off_t cl = -1;
	if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK || cl <= 0)
		return;
	if (mg_header(x->easy, "Transfer-Encoding") || mg_header(x->easy, "Content-Encoding"))
		return;
	pthread_mutex_lock(&direct_mu);
	for (int i = 0; i < MG_DIRECT_MAX; i++) {
		if (!direct_reg[i]) {
			x->body = cl;
			x->sock = -1;
			x->direct = MG_DIRECT_LEARNING;
			x->seen = last_seq; // only a recv from now on tells
			x->misses = 0;
			direct_reg[i] = x;
			__atomic_store_n(&direct_n, direct_n + 1, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&direct_mu);
}

// direct_learned: x's chunk at ptr (n bytes) is the first since this
// thread's last plain recv, made after x registered. x splices from now on
// if that recv filled the buffer the chunk lies in. A chunk from elsewhere
// (libcurl handing over bytes it kept during a pause, after other
// transfers' reads) proves nothing; four of them, and x gives up: over
// TLS every chunk comes from elsewhere.
static void direct_learned(mg_xfer *x, const char *ptr, size_t n) {
	x->seen = last_seq;
	if (ptr >= last_buf && ptr + n <= last_buf + last_n) {
		pthread_mutex_lock(&direct_mu);
		x->lbuf = last_buf;
		x->sock = last_fd;
		x->direct = MG_DIRECT_ON;
		pthread_mutex_unlock(&direct_mu);
	} else if (++x->misses >= 4) {
		direct_stop(x);
	}
}

// stop_locked unregisters x for good (this attempt), with direct_mu held.
// Its pieces still queued keep their pipes until written.
static void stop_locked(mg_xfer *x) {
	if (x->direct == MG_DIRECT_LEARNING || x->direct == MG_DIRECT_ON) {
		for (int i = 0; i < MG_DIRECT_MAX; i++) {
			if (direct_reg[i] == x) {
				direct_reg[i] = NULL;
				__atomic_store_n(&direct_n, direct_n - 1, __ATOMIC_RELEASE);
			}
		}
	}
	x->direct = MG_DIRECT_NEVER;
	x->sock = -1;
}

// direct_stop is stop_locked for a caller without direct_mu.
static void direct_stop(mg_xfer *x) {
	if (x->direct == MG_DIRECT_NEVER)
		return; // stopped already
	pthread_mutex_lock(&direct_mu);
	stop_locked(x);
	pthread_mutex_unlock(&direct_mu);
}

// direct_forget: libcurl is closing socket s.
static void direct_forget(int s) {
	if (last_fd == s)
		last_fd = -1;
	if (__atomic_load_n(&direct_n, __ATOMIC_ACQUIRE) == 0)
		return;
	pthread_mutex_lock(&direct_mu);
	for (int i = 0; i < MG_DIRECT_MAX; i++)
		if (direct_reg[i] && direct_reg[i]->sock == s)
			stop_locked(direct_reg[i]);
	pthread_mutex_unlock(&direct_mu);
}

// direct_recv answers libcurl's recv on x's socket into x's buffer by
// splicing, or returns -2: do a plain recv.
static ssize_t direct_recv(mg_xfer *x, size_t len) {
	if (x->paused || x->starved) {
		// libcurl tries a paused transfer's socket once (and holds what it
		// reads): nothing to read until the writer has caught up.
		errno = EAGAIN;
		return -1;
	}
	// x->spliced is 0 here: libcurl hands over every byte a recv returned
	// before it calls recv again, or ends the transfer.
	long long left = x->body - x->bytes;
	if (x->limit >= 0 && x->limit - x->offset - x->bytes < left)
		left = x->limit - x->offset - x->bytes;
	if (left <= 0)
		return -2;
	if ((long long)len > left)
		len = (size_t)left;
	if (len < MG_SPLICE_MIN)
		return -2; // a short read (the body's end, a rate cap): not worth it
	mg_wjob *j = NULL;
	int pi = -1;
	pthread_mutex_lock(&pool.mu);
	// Bounded like the buffers. A transfer whose writer has all its pieces
	// is paused until half of them are written: receiving through the
	// buffers instead would cost two more copies just when the writers
	// are behind.
	size_t room = x->squeued < MG_SBYTES ? (size_t)(MG_SBYTES - x->squeued) : 0;
	for (int i = MG_WBUFS; i < MG_WBUFS + MG_SJOBS && !j && room >= MG_SPLICE_MIN; i++)
		if (!x->jobs[i].busy)
			j = &x->jobs[i];
	if (j)
		pi = pipe_take_locked();
	if (pi >= 0 && x->buf && x->len > 0)
		queue_locked(x); // what is buffered comes first in the file
	pthread_mutex_unlock(&pool.mu);
	if (!j) {
		x->starved = 1;
		x->snext = x->pauser->starved;
		x->pauser->starved = x;
		errno = EAGAIN;
		return -1;
	}
	if (pi < 0)
		return -2; // every pipe is in use: the buffered path
	if (len > room)
		len = room;
	ssize_t n = splice(x->sock, NULL, pipes[pi].fd[1], NULL, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	int e = errno;
	pthread_mutex_lock(&pool.mu);
	if (n <= 0) {
		pipe_release_locked(pi, 0);
	} else {
		j->pipe = pi;
		j->off = x->qpos;
		j->len = (size_t)n;
		j->busy = 1;
		x->qpos += n;
		x->inflight++;
		x->sinflight++;
		x->squeued += n;
		enqueue_locked(x->writer, j);
	}
	pthread_mutex_unlock(&pool.mu);
	errno = e;
	if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK))
		return -2; // nothing there: the plain recv says so to libcurl
	if (n > 0) {
		x->spliced = (size_t)n;
		__atomic_add_fetch(&spliced_bytes, n, __ATOMIC_RELAXED);
	}
	return n;
}

// recv(2) for libcurl: a definition in the executable takes the place of
// libc's for the shared libraries it loads. With no transfer registered,
// it is the system call.
ssize_t recv(int fd, void *buf, size_t len, int flags) {
	if (__atomic_load_n(&direct_n, __ATOMIC_ACQUIRE) == 0)
		return recvfrom(fd, buf, len, flags, NULL, NULL);
	int learning = 0;
	mg_xfer *mine = NULL;
	pthread_mutex_lock(&direct_mu);
	for (int i = 0; i < MG_DIRECT_MAX && !mine; i++) {
		mg_xfer *x = direct_reg[i];
		if (!x)
			continue;
		if (x->direct == MG_DIRECT_LEARNING)
			learning = 1;
		else if (x->sock == fd && x->lbuf == buf && flags == 0)
			mine = x;
	}
	pthread_mutex_unlock(&direct_mu);
	// A match is this thread's own transfer: only the libcurl that owns a
	// connection reads its socket, and into that transfer's buffer.
	if (mine) {
		ssize_t n = direct_recv(mine, len);
		if (n != -2)
			return n;
	}
	ssize_t n = recvfrom(fd, buf, len, flags, NULL, NULL);
	if (learning) {
		last_fd = n > 0 ? fd : -1;
		last_buf = buf;
		last_n = n > 0 ? (size_t)n : 0;
		last_seq++;
	}
	return n;
}

// go_async moves a transfer whose buffer is full to a writer, keeping that
// buffer as its first. Returns 0, or -1 when no writer can be had.
static int go_async(mg_xfer *x) {
	pthread_once(&pool.once, pool_start);
	mg_wjob *jobs = calloc(MG_WBUFS + MG_SJOBS, sizeof *jobs);
	if (!jobs)
		return -1;
	pthread_mutex_lock(&pool.mu);
	if (pool.n == 0) {
		pthread_mutex_unlock(&pool.mu);
		free(jobs);
		return -1;
	}
	x->writer = pool.next++ % pool.n;
	pool.bufs++;
	pthread_mutex_unlock(&pool.mu);
	__atomic_add_fetch(&async_transfers, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < MG_WBUFS + MG_SJOBS; i++) {
		jobs[i].x = x;
		jobs[i].pipe = -1;
	}
	jobs[0].data = x->buf;
	x->jobs = jobs;
	x->qpos = x->wpos;
	long v = 0;
	x->pausable = x->pauser && x->check_http &&
	              curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK &&
	              (v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1);
	if (x->pausable)
		direct_start(x);
	return 0;
}

// queue_locked hands the current buffer (x->buf, x->len bytes) to x's
// writer; x then has no current buffer until acquire. pool.mu is held.
static void queue_locked(mg_xfer *x) {
	mg_wjob *cur = NULL;
	for (int i = 0; i < MG_WBUFS && !cur; i++)
		if (x->jobs[i].data == x->buf)
			cur = &x->jobs[i];
	cur->off = x->qpos;
	cur->len = x->len;
	cur->busy = 1;
	x->qpos += (long long)x->len;
	x->len = 0;
	x->buf = NULL;
	x->inflight++;
	enqueue_locked(x->writer, cur);
}

// room_locked is how many bytes x can take without waiting: what is left in
// its current buffer, its free buffers, and the ones it may still allocate.
static size_t room_locked(mg_xfer *x) {
	size_t r = x->buf ? x->cap - x->len : 0;
	int unallocated = 0;
	for (int i = 0; i < MG_WBUFS; i++) {
		mg_wjob *j = &x->jobs[i];
		if (!j->data)
			unallocated++;
		else if (!j->busy && j->data != x->buf)
			r += MG_BUFCAP;
	}
	int afford = MG_WBUF_BUDGET - pool.bufs;
	if (afford > unallocated)
		afford = unallocated;
	if (afford > 0)
		r += (size_t)afford * MG_BUFCAP;
	return r;
}

// acquire makes a free buffer current, waiting for one to come back when
// there is none (never for a transfer that pauses instead).
static int acquire(mg_xfer *x) {
	mg_wjob *next = NULL;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		mg_wjob *unallocated = NULL;
		for (int i = 0; i < MG_WBUFS && !next; i++) {
			if (x->jobs[i].busy)
				continue;
			if (x->jobs[i].data)
				next = &x->jobs[i];
			else if (!unallocated)
				unallocated = &x->jobs[i];
		}
		if (next)
			break;
		if (unallocated && pool.bufs < MG_WBUF_BUDGET) {
			pool.bufs++;
			next = unallocated;
			break;
		}
		x->waiting = 1;
		pthread_cond_wait(&pool.back, &pool.mu);
		x->waiting = 0;
	}
	pthread_mutex_unlock(&pool.mu);
	if (!next->data && !(next->data = malloc(MG_BUFCAP))) {
		pthread_mutex_lock(&pool.mu);
		pool.bufs--;
		pthread_mutex_unlock(&pool.mu);
		errno = ENOMEM;
		set_err(x, MG_OP_WRITE, x->path);
		return -1;
	}
	x->buf = next->data;
	x->len = 0;
	return 0;
}

// drain waits until the writer has written every queued buffer of x.
// Returns -1 when one of them failed (err is set), else 0; afterwards the
// loop thread owns x again and writes at wpos itself.
static int drain(mg_xfer *x) {
	if (!x->jobs)
		return 0;
	pthread_mutex_lock(&pool.mu);
	while (x->inflight > 0) {
		x->waiting = 1;
		pthread_cond_wait(&pool.back, &pool.mu);
	}
	x->waiting = 0;
	int failed = x->wfail;
	pthread_mutex_unlock(&pool.mu);
	return failed ? -1 : 0;
}

// submit writes out the full buffer: through a writer when the body is
// larger than one buffer, else right here.
static int submit(mg_xfer *x) {
	if (!x->jobs && (x->cap < MG_BUFCAP || go_async(x) != 0))
		return flush(x);
	pthread_mutex_lock(&pool.mu);
	queue_locked(x);
	pthread_mutex_unlock(&pool.mu);
	return 0;
}

// finish_writes drains the writer and writes what is still buffered.
static int finish_writes(mg_xfer *x) {
	if (drain(x) != 0) {
		x->len = 0;
		return -1;
	}
	return flush(x);
}

long long mg_xfer_flushed(mg_xfer *x) { return __atomic_load_n(&x->wpos, __ATOMIC_ACQUIRE); }

static size_t mg_write(char *ptr, size_t size, size_t nmemb, void *ud) {
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
				return 0; // aborts the transfer: the error body is never stored
			}
			if (code == 206) {
				// Only a range that starts exactly where the file ends may
				// be appended; anything else would splice wrong bytes.
				if ((x->offset <= 0 && !x->segment) ||
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
			unhold((long long)want);
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
			unhold(x->held);
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
	} else if (x->state != MG_WRITING) {
		return 0;
	} else if (__atomic_load_n(&x->wfail, __ATOMIC_ACQUIRE)) {
		x->state = MG_IOERR; // a writer failed; err says why
		return 0;
	}
	size_t take = n;
	if (x->limit >= 0 && x->offset + x->bytes + (long long)n > x->limit) {
		// The rest of the body belongs to another segment.
		take = x->limit > x->offset + x->bytes ? (size_t)(x->limit - x->offset - x->bytes) : 0;
		x->limit_hit = 1;
	}
	n = take;
	if (x->direct == MG_DIRECT_LEARNING && last_fd >= 0 && last_seq != x->seen) {
		// The first chunk after a plain recv on this thread: libcurl
		// passes body bytes on straight from its buffer, so if this one
		// lies in the buffer that recv filled, that recv was libcurl
		// reading this body from its socket. If not, something sits
		// between (TLS decrypts into another buffer): never splice.
		direct_learned(x, ptr, n);
	}
	if (x->spliced > 0) {
		// Spliced bytes are on their way to the file already; libcurl's
		// buffer holds nothing of them. A spliced recv never goes past
		// the limit, and its callbacks come before anything else.
		size_t s = n < x->spliced ? n : x->spliced;
		x->spliced -= s;
		x->bytes += (long long)s;
		ptr += s;
		n -= s;
		if (n == 0)
			goto done;
	}
	const char *p = ptr;
	size_t left = n;
	if (!x->jobs && left >= x->cap && !x->handover) {
		// A chunk as large as the buffer (or no buffer): nothing to gain
		// from copying it.
		if (flush(x) != 0 || write_all(x, p, left) != 0) {
			x->state = MG_IOERR;
			return 0;
		}
		left = 0;
	}
	if (x->jobs && x->pausable && !(x->buf && x->cap - x->len >= left)) {
		// Only a chunk that crosses into another buffer needs the lock.
		pthread_mutex_lock(&pool.mu);
		if (room_locked(x) < left) {
			pause_locked(x);
			pthread_mutex_unlock(&pool.mu);
			return CURL_WRITEFUNC_PAUSE;
		}
		pthread_mutex_unlock(&pool.mu);
	}
	while (left > 0) {
		// A full buffer (only ever of a transfer without a writer yet) is
		// written here or goes to a writer; a transfer with a writer then
		// takes a free buffer, which a pausable one was just seen to have.
		if ((x->len == x->cap && submit(x) != 0) || (!x->buf && acquire(x) != 0)) {
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
		if (x->jobs && x->len == x->cap) {
			// Full: to the writer at once, not at the next chunk.
			pthread_mutex_lock(&pool.mu);
			queue_locked(x);
			pthread_mutex_unlock(&pool.mu);
		}
	}
	x->bytes += (long long)n;
done:
	if (x->limit_hit) {
		direct_stop(x);
		return 0; // ends the transfer (CURLE_WRITE_ERROR), by design
	}
	return size * nmemb;
}

int mg_xfer_finish(mg_xfer *x) {
	unlink_paused(x);
	direct_stop(x);
	mux_note(x->easy);
	if (x->state == MG_FRESH) {
		if (open_output(x, 0, 0) != 0) {
			x->state = MG_IOERR;
			return -1;
		}
		x->state = MG_WRITING;
	}
	if (x->state != MG_WRITING) {
		drain(x);
		return -1;
	}
	if (x->handover)
		return 0; // the body goes to the linker: mg_xfer_take_body
	int rc = finish_writes(x);
	if (x->tmpfile && rc == 0)
		return 0; // the descriptor goes to the linker: mg_xfer_take_fd
	if (close(x->fd) != 0 && rc == 0) {
		set_err(x, MG_OP_CLOSE, x->path);
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
	unhold(x->held - (long long)x->len);
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
	unlink_paused(x);
	direct_stop(x);
	if (x->fd < 0)
		return 0;
	if (x->tmpfile) {
		// An unnamed file has nothing to keep: closing drops it. (The
		// engine never asks; this keeps the call safe.)
		drain(x);
		close(x->fd);
		x->fd = -1;
		return 0;
	}
	int rc = finish_writes(x);
	if (close(x->fd) != 0 && rc == 0) {
		set_err(x, MG_OP_CLOSE, x->path);
		rc = -1;
	}
	x->fd = -1;
	return rc;
}

CURLcode mg_xfer_resume(mg_xfer *x, long long offset, long long end, struct curl_slist *shared, const char *ifrange) {
	CURLcode rc;
	char range[48];
	x->offset = offset;
	if (end > offset) {
		snprintf(range, sizeof range, "%lld-%lld", offset, end - 1);
		x->limit = end;
	} else {
		snprintf(range, sizeof range, "%lld-", offset);
	}
	if ((rc = curl_easy_setopt(x->easy, CURLOPT_RANGE, range)))
		return rc;
	if (!ifrange || !*ifrange)
		return CURLE_OK;
	free(x->ifrange);
	if (!(x->ifrange = strdup(ifrange)))
		return CURLE_OUT_OF_MEMORY;
	struct curl_slist *l = NULL;
	for (struct curl_slist *s = shared; s; s = s->next)
		if (!(l = curl_slist_append(l, s->data)))
			goto oom;
	size_t n = strlen(ifrange) + sizeof "If-Range: ";
	char *h = malloc(n);
	if (!h)
		goto oom;
	snprintf(h, n, "If-Range: %s", ifrange);
	struct curl_slist *l2 = curl_slist_append(l, h);
	free(h);
	if (!l2)
		goto oom;
	x->headers = l2;
	return curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
oom:
	curl_slist_free_all(l);
	return CURLE_OUT_OF_MEMORY;
}

const char *mg_header(CURL *easy, const char *name) {
	struct curl_header *h;
	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

long long mg_retry_after(CURL *easy) {
	curl_off_t s = -1;
	if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &s) != CURLE_OK || s <= 0)
		return -1;
	return (long long)s;
}

void mg_xfer_discard(mg_xfer *x) {
	unlink_paused(x);
	direct_stop(x);
	drain(x);
	if (x->fd >= 0) {
		close(x->fd);
		x->fd = -1;
	}
}

void mg_xfer_free(mg_xfer *x) {
	if (!x)
		return;
	unhold(x->held);
	unlink_paused(x);
	direct_stop(x);
	drain(x);
	if (x->fd >= 0)
		close(x->fd);
	if (x->jobs) {
		int held = 0;
		for (int i = 0; i < MG_WBUFS; i++) {
			held += x->jobs[i].data != NULL;
			free(x->jobs[i].data);
		}
		free(x->jobs);
		pthread_mutex_lock(&pool.mu);
		pool.bufs -= held;
		pthread_mutex_unlock(&pool.mu);
	} else {
		free(x->buf);
	}
	curl_slist_free_all(x->headers);
	free(x->ifrange);
	free(x->path);
	free(x->errpath);
	free(x);
}

// Corked requests. Over HTTP/2 the requests of many transfers share one
// connection, and libcurl sends each one as it starts its transfer: a TCP
// segment per request, and for a server that has caught up, a wake-up per
// request. So the connections known to be multiplexed (a transfer on one
// finished over HTTP/2, and libcurl kept it: mux_note, from
// mg_xfer_finish) are corked (TCP_CORK) during a perform that comes after
// transfers were started, and uncorked when it returns: the requests of
// one perform leave together, in as few segments as they fill, and the
// server reads them at one go. Measured on 2,000 x 8 KiB over HTTP/2, 16
// at once, against nginx on 2 cores, 21 interleaved runs: median 132 ms
// against 147 before; per run 113-119 ms of CPU here against 126-132, and
// 40-41 ms in nginx against 49-55. HTTP/1.x connections carry one request
// at a time and are never corked. The set is the process's: engines side by
// side (tests) may cork each other's connections for the length of a
// perform, which holds a request back by no more than that.
#define MG_MUX_MAX 64
static pthread_mutex_t mux_mu = PTHREAD_MUTEX_INITIALIZER;
static curl_socket_t mux_socks[MG_MUX_MAX];
static int mux_n;
static long corks; // for tests

long mg_corks(void) { return __atomic_load_n(&corks, __ATOMIC_RELAXED); }

// mux_note remembers easy's connection if it is multiplexed. libcurl
// names a transfer's connection only once the transfer is done, and only
// while the connection stays open.
static void mux_note(CURL *easy) {
	long v = 0;
	curl_socket_t s = CURL_SOCKET_BAD;
	if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &v) != CURLE_OK || v != CURL_HTTP_VERSION_2_0 ||
	    curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD)
		return;
	pthread_mutex_lock(&mux_mu);
	int i = 0;
	while (i < mux_n && mux_socks[i] != s)
		i++;
	if (i == mux_n && mux_n < MG_MUX_MAX)
		mux_socks[mux_n++] = s;
	pthread_mutex_unlock(&mux_mu);
}

// mux_forget drops s, which libcurl is about to close, before its number
// can come back as another socket.
static void mux_forget(curl_socket_t s) {
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
	pthread_mutex_lock(&mux_mu);
	for (int i = 0; i < mux_n; i++)
		setsockopt(mux_socks[i], IPPROTO_TCP, TCP_CORK, &on, sizeof on);
	if (on && mux_n > 0)
		__atomic_add_fetch(&corks, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mux_mu);
}

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
	direct_forget(s);
	mux_forget(s);
	if (s >= FD_SETSIZE)
		__atomic_sub_fetch(&high_sockets, 1, __ATOMIC_RELAXED);
	return close(s);
}

long mg_high_sockets(void) {
	return __atomic_load_n(&high_sockets, __ATOMIC_RELAXED);
}

// mg_header_line notes whether the last response's header block ended: a
// status line starts a block (a redirect's, a 1xx's, a proxy's, then the
// final one), the blank line ends it. libcurl passes every header line
// here, that blank line included, for HTTP/1.x and HTTP/2 alike; a
// connection closed inside the block never gets to it, and libcurl then
// ends the transfer without an error (see mg_xfer_incomplete).
static size_t mg_header_line(char *p, size_t size, size_t nmemb, void *ud) {
	mg_xfer *x = ud;
	size_t n = size * nmemb;
	if (!x)
		return n;
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
		x->hdr_end = 0;
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

CURLcode mg_setopt_callbacks(CURL *easy) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, mg_write)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, mg_header_line)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, mg_opensocket)))
		return rc;
	return curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, mg_closesocket);
}

CURLcode mg_setopt_xfer(CURL *easy, mg_xfer *x) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, x)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, x)))
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

CURLMcode mg_multi_poll(CURLM *multi, int extra_fd, int timeout_ms, int *numfds) {
	struct curl_waitfd w = {.fd = extra_fd, .events = CURL_WAIT_POLLIN};
	return curl_multi_poll(multi, extra_fd >= 0 ? &w : NULL, extra_fd >= 0 ? 1 : 0, timeout_ms, numfds);
}

CURLMcode mg_multi_wakeup(CURLM *multi) { return curl_multi_wakeup(multi); }

// libcurl mallocs its receive buffer (CURLOPT_BUFFERSIZE + 1 bytes, 512 KiB
// here) when a transfer starts and frees it when the transfer ends, reused
// handle or not. glibc serves a block that size with mmap, or from an arena
// whose top it then trims, so every transfer paid fresh page faults and an
// madvise: 20,000 one-byte files took ~16,000 page faults against ~3,000
// with these settings. Blocks under 4 MiB now stay in the arena, and up to
// 64 MiB of free arena top is kept for the next transfer; peak RSS is
// unchanged, as the buffers of -j transfers are live at once anyway.
void mg_tune_malloc(void) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

long mg_thread_preemptions(void) {
	struct rusage ru;
	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : -1;
}

// mg_move_cpu moves the calling thread to the next CPU it may run on after
// the current one, by allowing it that CPU alone, then gives it back every
// CPU it had: the move stays, the affinity does not.
int mg_move_cpu(void) {
	cpu_set_t all, one;
	int cur = sched_getcpu();
	if (cur < 0 || sched_getaffinity(0, sizeof all, &all) != 0 || CPU_COUNT(&all) < 2)
		return -1;
	int to = -1;
	for (int i = 1; i < CPU_SETSIZE && to < 0; i++) {
		if (CPU_ISSET((cur + i) % CPU_SETSIZE, &all))
			to = (cur + i) % CPU_SETSIZE;
	}
	if (to < 0)
		return -1;
	CPU_ZERO(&one);
	CPU_SET(to, &one);
	if (sched_setaffinity(0, sizeof one, &one) != 0)
		return -1;
	if (sched_setaffinity(0, sizeof all, &all) != 0) {
		// The mask was read a moment ago; should it fail all the same (a
		// cpuset changed in between), allow every CPU, which the kernel
		// narrows to those the cpuset allows: never leave the thread pinned.
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof all, &all);
	}
	return to;
}

CURLcode mg_easy_prepare(CURL *easy, const char *url, struct curl_slist *shared, int pipewait, int h1) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_URL, url)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_PIPEWAIT, (long)pipewait)))
		return rc;
	// NONE: libcurl's own default (HTTP/2 over TLS where it has HTTP/2).
	if ((rc = curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, h1 ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_NONE)))
		return rc;
	// A reused handle may carry the last attempt's Range and headers.
	if ((rc = curl_easy_setopt(easy, CURLOPT_RANGE, NULL)))
		return rc;
	return curl_easy_setopt(easy, CURLOPT_HTTPHEADER, shared);
}

CURLSH *mg_share_new(void) {
	CURLSH *sh = curl_share_init();
	if (sh && curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		curl_share_cleanup(sh);
		return NULL;
	}
	return sh;
}

CURLcode mg_setopt_share(CURL *easy, CURLSH *sh) { return curl_easy_setopt(easy, CURLOPT_SHARE, sh); }

void mg_share_free(CURLSH *sh) { curl_share_cleanup(sh); }

void mg_easy_park(CURL *easy) {
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
}

// The linker (see "Small files"): one thread that names the unnamed files
// the loop completed, in the order they were submitted. The loop queues
// them as transfers finish and wakes the thread at most once per pass
// (mg_link_kick); results come back through mg_link_collect.
struct link_item {
	int fd; // -1: buf is to be written first
	int named; // write_part put it in place already
	int noreplace;
	char *path;
	long id;
	int err, op;
	char *buf;
	long long len;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct link_item *q, *d; // queued, finished
	int qn, qcap, dn, dcap;
	int started, sleeping;
	int busy; // taken by the thread, not yet done
} lk = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

// flink gives the open file fd the name dfd/name, never replacing one.
static int flink(int fd, int dfd, const char *name) {
	int how = __atomic_load_n(&link_how, __ATOMIC_RELAXED);
	if (how == 1) {
		if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0)
			return 0;
		// Without the right to link descriptors the kernel says ENOENT
		// (before 6.10) or EPERM.
		if (errno != ENOENT && errno != EPERM)
			return -1;
	}
	if (how <= 2) {
		char proc[32];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) == 0) {
			if (how == 1)
				__atomic_store_n(&link_how, 2, __ATOMIC_RELAXED);
			return 0;
		}
		return -1;
	}
	errno = ENOENT;
	return -1;
}

// put_in_place renames dfd/part to dfd/name, never replacing name with
// noreplace (where the filesystem cannot refuse, it checks first), and
// removes part if that fails. Returns 0 or an errno.
static int put_in_place(int dfd, const char *part, const char *name, int noreplace) {
	int err = 0;
	if (!noreplace) {
		if (renameat(dfd, part, dfd, name) != 0)
			err = errno;
	} else if (renameat2(dfd, part, dfd, name, RENAME_NOREPLACE) != 0) {
		err = errno;
		if (err == EINVAL || err == ENOSYS) {
			err = faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? EEXIST : 0;
			if (!err && renameat(dfd, part, dfd, name) != 0)
				err = errno;
		}
	}
	if (err)
		unlinkat(dfd, part, 0);
	return err;
}

// pwrite_all writes len bytes of buf at off; returns 0 or an errno.
static int pwrite_all(int fd, const char *buf, long long len, off_t off) {
	for (long long done = 0; done < len;) {
		ssize_t k = pwrite(fd, buf + done, (size_t)(len - done), off + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		done += k;
	}
	return 0;
}

// copy_in writes the unnamed file's bytes to dfd/part, taken for this
// process (see "Owning NAME.part") and emptied, for systems that can link
// it neither way. Returns the part's descriptor, still holding it until
// it is renamed, or -1 with errno.
static int copy_in(int fd, int dfd, const char *part) {
	int out = part_lock_at(dfd, part, 1, NULL);
	if (out < 0)
		return -1;
	if (ftruncate(out, 0) != 0) {
		int e = errno;
		close(out);
		errno = e;
		return -1;
	}
	char buf[16384];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			if (n == 0)
				return out;
			unlinkat(dfd, part, 0);
			close(out);
			errno = e;
			return -1;
		}
		int e = pwrite_all(out, buf, n, off);
		if (e) {
			unlinkat(dfd, part, 0);
			close(out);
			errno = e;
			return -1;
		}
		off += n;
	}
}

// Stale NAME.part files. Linking NAME makes a NAME.part left by an earlier
// run stale, so the linker removes it (unless another process holds it:
// see "Owning NAME.part"); looking for one costs an open per file, about a fifth of the linker's time on 20,000 one-byte files.
// A directory that held no *.part when this run first linked into it can
// hold no stale one later: this run's own .part files are of other names
// (a NAME written unnamed never had one in this run, or it was removed),
// and another process's are in use, not stale. dir_clean tells, once per
// directory (up to CLEAN_MAX directories, by device and inode; scanning
// at most CLEAN_SCAN names); linker thread only.
#define CLEAN_MAX 64
#define CLEAN_SCAN 1024
static struct {
	dev_t dev;
	ino_t ino;
	int clean;
} clean_dirs[CLEAN_MAX];
static int clean_n;
static unsigned clean_seen; // clean_gen when the table was filled

static int dir_clean(int dfd) {
	unsigned gen = __atomic_load_n(&clean_gen, __ATOMIC_ACQUIRE);
	if (gen != clean_seen) {
		clean_n = 0;
		clean_seen = gen;
	}
	struct stat st;
	if (dfd == AT_FDCWD || fstat(dfd, &st) != 0)
		return 0;
	for (int i = 0; i < clean_n; i++)
		if (clean_dirs[i].dev == st.st_dev && clean_dirs[i].ino == st.st_ino)
			return clean_dirs[i].clean;
	if (clean_n == CLEAN_MAX)
		return 0; // not worth a scan each time
	int clean = 0;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		clean = 1;
		int n = 0;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			size_t len = strlen(de->d_name);
			if (++n > CLEAN_SCAN || (len >= 5 && memcmp(de->d_name + len - 5, ".part", 5) == 0)) {
				clean = 0;
				break;
			}
		}
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	clean_dirs[clean_n].dev = st.st_dev;
	clean_dirs[clean_n].ino = st.st_ino;
	clean_dirs[clean_n].clean = clean;
	clean_n++;
	return clean;
}

// link_one names one file; returns 0 or an errno.
static int link_one(struct link_item *it) {
	int dfd;
	const char *name = at_dir_in(&link_dir, it->path, &dfd);
	size_t n = strlen(name);
	char *part = malloc(n + sizeof ".part.meta");
	int err = 0, held = -1;
	if (!part) {
		err = ENOMEM;
		goto out;
	}
	memcpy(part, name, n);
	memcpy(part + n, ".part", sizeof ".part");
	if (flink(it->fd, dfd, name) == 0) {
		// A NAME.part of an earlier run is stale now (as when a fresh
		// download overwrote it and renamed it), and so is its .meta;
		// one that another process holds is its live download, and stays.
		if (dfd == link_dir.fd && link_dir.clean < 0)
			link_dir.clean = dir_clean(dfd);
		if (dfd != link_dir.fd || !link_dir.clean)
			remove_part_at(dfd, part, -1, 1);
		goto out;
	}
	if (errno == EEXIST && it->noreplace) {
		err = EEXIST;
		goto out;
	}
	if (errno != EEXIST && errno != ENOENT && errno != EPERM) {
		err = errno;
		goto out;
	}
	// NAME exists (rename replaces it in one step, as for any NAME.part),
	// or the file cannot be linked here (then its bytes are copied). The
	// unnamed file is locked before it gets the name NAME.part, so that
	// another process never takes it for a NAME.part of its own to write.
	flock(it->fd, LOCK_EX | LOCK_NB);
	if (flink(it->fd, dfd, part) != 0) {
		if (errno == EEXIST) {
			if ((err = remove_part_at(dfd, part, -1, 1)) != 0)
				goto out; // another process's NAME.part
			if (flink(it->fd, dfd, part) == 0)
				goto rename;
		}
		if (errno != ENOENT && errno != EPERM) {
			err = errno;
			goto out;
		}
		if ((held = copy_in(it->fd, dfd, part)) < 0) {
			err = errno; // the directory is gone, the disk refuses, or another process holds it
			goto out;
		}
		// Copying works where linking does not: no more unnamed files.
		__atomic_store_n(&link_how, 3, __ATOMIC_RELAXED);
		__atomic_store_n(&tmp_on, 0, __ATOMIC_RELAXED);
	}
rename:
	err = put_in_place(dfd, part, name, it->noreplace);
	if (held >= 0)
		close(held);
out:
	at_done_in(&link_dir);
	free(part);
	return err;
}

// write_part writes a handed-over body to NAME.part in dfd (or in dir when
// dfd is AT_FDCWD) and renames it to NAME; it->named tells link_main that
// it is done. Returns 0 or an errno, with it->op.
static int write_part(struct link_item *it, int dfd, const char *dir) {
	const char *slash = strrchr(it->path, '/');
	const char *name = dir ? it->path : slash ? slash + 1 : it->path;
	size_t n = strlen(name);
	char *part = malloc(n + sizeof ".part");
	if (!part) {
		it->op = MG_OP_OPEN;
		return ENOMEM;
	}
	memcpy(part, name, n);
	memcpy(part + n, ".part", sizeof ".part");
	int e = 0;
	it->op = MG_OP_OPEN;
	// Taken for this process (see "Owning NAME.part") until renamed.
	int fd = part_lock_at(dfd, part, 1, NULL);
	if (fd < 0 || ftruncate(fd, 0) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	it->op = MG_OP_WRITE;
	e = pwrite_all(fd, it->buf, it->len, 0);
	if (e) {
		unlinkat(dfd, part, 0);
	} else {
		it->op = MG_OP_LINK;
		e = put_in_place(dfd, part, name, it->noreplace);
		it->named = !e;
	}
	close(fd); // only now: it held the name until the rename
out:
	free(part);
	return e;
}

// write_body creates the unnamed file for a handed-over body and writes
// it; returns 0 (it->fd open) or an errno, with it->op saying what failed.
static int write_body(struct link_item *it) {
	const char *slash = strrchr(it->path, '/');
	char *dir = slash && slash != it->path ? strndup(it->path, (size_t)(slash - it->path)) : strdup(slash ? "/" : ".");
	if (!dir) {
		it->op = MG_OP_OPEN;
		return ENOMEM;
	}
	int e = 0;
	for (int tries = 0; tries < 2; tries++) {
		int dfd;
		at_dir_in(&link_dir, it->path, &dfd);
		// The cached directory, or (when it would not open) the path, so
		// that the error is the directory's own.
		int fd = dfd != AT_FDCWD ? openat(dfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0666)
		                         : open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0666);
		e = errno;
		if (fd >= 0 && __atomic_load_n(&tmp_refused, __ATOMIC_RELAXED)) {
			close(fd);
			fd = -1;
			e = EOPNOTSUPP;
		}
		if (fd < 0 && (e == EOPNOTSUPP || e == EISDIR || e == EINVAL)) {
			// No O_TMPFILE here: NAME.part, renamed, as the loop would.
			__atomic_store_n(&tmp_on, 0, __ATOMIC_RELAXED);
			e = write_part(it, dfd, dfd != AT_FDCWD ? NULL : dir);
			at_done_in(&link_dir);
			free(dir);
			return e;
		}
		at_done_in(&link_dir);
		if (fd >= 0) {
			it->op = MG_OP_WRITE;
			free(dir);
			if ((e = pwrite_all(fd, it->buf, it->len, 0)) != 0) {
				close(fd);
				return e;
			}
			it->fd = fd;
			return 0;
		}
		it->op = MG_OP_OPEN;
		if (e != ENOENT || tries)
			break;
		// The directory is missing: create it and its parents.
		char *p = strdup(it->path);
		if (!p || mkdirs(p) != 0) {
			e = p ? errno : ENOMEM;
			it->op = MG_OP_MKDIR;
			free(p);
			break;
		}
		free(p);
		forget_in(&link_dir);
	}
	free(dir);
	return e;
}

static void *link_main(void *arg) {
	(void)arg;
	pthread_mutex_lock(&lk.mu);
	for (;;) {
		while (lk.qn == 0) {
			lk.sleeping = 1;
			pthread_cond_wait(&lk.work, &lk.mu);
			lk.sleeping = 0;
		}
		struct link_item *batch = lk.q;
		int n = lk.qn;
		lk.q = NULL;
		lk.qn = lk.qcap = 0;
		__atomic_store_n(&lk.busy, n, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&lk.mu);
		for (int i = 0; i < n; i++) {
			struct link_item *it = &batch[i];
			if (it->fd < 0) {
				it->err = write_body(it);
				mg_body_free(it->buf, it->len);
				it->buf = NULL;
			}
			if (it->err == 0 && !it->named) {
				it->op = MG_OP_LINK;
				it->err = link_one(it);
				close(it->fd);
			}
			free(it->path);
			it->path = NULL;
			__atomic_sub_fetch(&lk.busy, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_lock(&lk.mu);
		if (lk.dn + n > lk.dcap) {
			int c = lk.dcap ? lk.dcap : 64;
			while (c < lk.dn + n)
				c *= 2;
			struct link_item *d = realloc(lk.d, (size_t)c * sizeof *d);
			if (!d)
				abort(); // results cannot be dropped: the engine waits for each
			lk.d = d;
			lk.dcap = c;
		}
		memcpy(lk.d + lk.dn, batch, (size_t)n * sizeof *batch);
		lk.dn += n;
		free(batch);
		pthread_cond_signal(&lk.done);
	}
	return NULL;
}

static int link_submit(int fd, char *buf, long long len, const char *path, int noreplace, long id);

int mg_link_submit(int fd, const char *path, int noreplace, long id) {
	return link_submit(fd, NULL, 0, path, noreplace, id);
}

int mg_link_submit_body(char *buf, long long len, const char *path, int noreplace, long id) {
	return link_submit(-1, buf, len, path, noreplace, id);
}

static int link_submit(int fd, char *buf, long long len, const char *path, int noreplace, long id) {
	char *p = strdup(path);
	if (!p)
		return -1;
	pthread_mutex_lock(&lk.mu);
	if (!lk.started) {
		if (start_helper(link_main, NULL) != 0) {
			pthread_mutex_unlock(&lk.mu);
			free(p);
			return -1;
		}
		lk.started = 1;
	}
	if (lk.qn == lk.qcap) {
		int c = lk.qcap ? lk.qcap * 2 : 64;
		struct link_item *q = realloc(lk.q, (size_t)c * sizeof *q);
		if (!q) {
			pthread_mutex_unlock(&lk.mu);
			free(p);
			return -1;
		}
		lk.q = q;
		lk.qcap = c;
	}
	lk.q[lk.qn++] = (struct link_item){fd, 0, noreplace, p, id, 0, 0, buf, len};
	pthread_mutex_unlock(&lk.mu);
	return 0;
}

void mg_link_kick(void) {
	pthread_mutex_lock(&lk.mu);
	if (lk.qn > 0 && lk.sleeping)
		pthread_cond_signal(&lk.work);
	pthread_mutex_unlock(&lk.mu);
}

int mg_link_collect(long *ids, int *errs, int *ops, int max, int block) {
	pthread_mutex_lock(&lk.mu);
	if (block) {
		if (lk.qn > 0 && lk.sleeping)
			pthread_cond_signal(&lk.work);
		while (lk.dn == 0)
			pthread_cond_wait(&lk.done, &lk.mu);
	}
	int n = lk.dn < max ? lk.dn : max;
	for (int i = 0; i < n; i++) {
		ids[i] = lk.d[i].id;
		errs[i] = lk.d[i].err;
		ops[i] = lk.d[i].op;
	}
	memmove(lk.d, lk.d + n, (size_t)(lk.dn - n) * sizeof *lk.d);
	lk.dn -= n;
	pthread_mutex_unlock(&lk.mu);
	return n;
}

static int link_backlog(void) {
	// A hint, read without the lock.
	return __atomic_load_n(&lk.busy, __ATOMIC_RELAXED) + __atomic_load_n(&lk.qn, __ATOMIC_RELAXED);
}
