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
// HTTP/1.1 and 120 against 127 ms over HTTP/2 (15 runs). Switch:
// mg_on.unnamed (engine.Tuning.NoUnnamed); off, every file is NAME.part,
// renamed by the loop.
//
// Filesystems without O_TMPFILE turn this off for the rest of the run.
// Kernels before 6.10 let only privileged callers link a descriptor
// (AT_EMPTY_PATH); then /proc/self/fd/N is linked instead, and where that
// fails too the bytes are copied into NAME.part, which is renamed.
//
// Hand-over. While the linker keeps up (fewer than MG_HANDOVER_MAX files
// waiting), a body of MG_HANDOVER_MIN bytes or more is not written by the
// loop at all: it stays in the transfer's buffer, which goes to the
// linker, and the linker creates the unnamed file, writes it and links
// it. Creating and writing a file cost a quarter of the loop's time on
// 2,000 x 8 KiB over HTTP/2. Smaller bodies cost less to write than to
// hand over: on 20,000 x 1 B handing every one over took 806 against
// 732 ms, the server and the linker then sharing the other core. Switch:
// mg_on.handover (engine.Tuning.NoHandover).

// renameat2, RENAME_NOREPLACE, O_TMPFILE, AT_EMPTY_PATH.
#define _GNU_SOURCE

#include "linker.h"
#include "dir.h"
#include "part.h"
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MG_TMPFILE_MAX MG_BUFCAP
#define MG_HANDOVER_MIN 4096
#define MG_HANDOVER_MAX 16

static int tmp_on = 1;   // unnamed files in use this run
static int link_how = 1; // 1: linkat(AT_EMPTY_PATH), 2: /proc/self/fd/N, 3: copy
// Test hooks (mg_tmpfile_mode): nothing of them in the product.
#ifdef MG_TEST
static int forced_how;  // link_how at the start of each run (0: 1)
static int tmp_refused; // O_TMPFILE fails as where unsupported
#define REFUSED() __atomic_load_n(&tmp_refused, __ATOMIC_RELAXED)
#else
#define forced_how 0
#define REFUSED() 0
#endif

void mg_unnamed_reset(int on) {
	__atomic_store_n(&tmp_on, on, __ATOMIC_RELAXED);
	__atomic_store_n(&link_how, forced_how ? forced_how : 1, __ATOMIC_RELAXED);
}

#ifdef MG_TEST
void mg_tmpfile_mode(int mode) {
	forced_how = mode == 2 || mode == 3 ? mode : 0;
	__atomic_store_n(&tmp_refused, mode == 4, __ATOMIC_RELAXED);
}

int mg_tmpfile_state(void) {
	return __atomic_load_n(&tmp_on, __ATOMIC_RELAXED) * 10 + __atomic_load_n(&link_how, __ATOMIC_RELAXED);
}
#endif

static int link_backlog(void);

// open_tmp opens an unnamed file in the directory of x->path; -1 when it
// cannot (the caller then opens NAME.part, which reports any real error),
// -2 when creating the missing directory failed (err says why).
static int open_tmp(mg_xfer *x) {
	for (int tries = 0; tries < 2; tries++) {
		int dfd, fd = -1, e = ENOENT;
		const char *base = mg_at(&mg_loop_dir, x->path, &dfd);
		// (AT_FDCWD, a path with a directory): that directory would not
		// open, so it is likely missing.
		if (dfd != AT_FDCWD || (base == x->path && !strchr(x->path, '/'))) {
			// O_RDWR: where it cannot be linked, its bytes are read back.
			fd = openat(dfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0666);
			e = errno;
			if (fd >= 0 && REFUSED()) {
				close(fd);
				fd = -1;
				e = EOPNOTSUPP;
			}
		}
		mg_at_done(&mg_loop_dir);
		if (fd >= 0)
			return fd;
		if (e == ENOENT && tries == 0) {
			// The directory is missing: create it as for NAME.part.
			if (mg_mkdir_parents(x, x->path) != 0)
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

int mg_unnamed_open(mg_xfer *x, long long cl) {
	// Not a response about to become the first range of a split download.
	if (!x->tmp_ok || x->segment || x->splittable || x->offset != 0 || cl < 0 || cl > MG_TMPFILE_MAX ||
	    !__atomic_load_n(&tmp_on, __ATOMIC_RELAXED))
		return 0;
	if (mg_on.handover && cl >= MG_HANDOVER_MIN && !x->tight && link_backlog() < MG_HANDOVER_MAX) {
		x->tmpfile = 1;
		x->handover = 1;
		x->wpos = 0;
		return 1; // no descriptor: the body stays in buf
	}
	int fd = open_tmp(x);
	if (fd == -2)
		return -1;
	if (fd < 0)
		return 0;
	x->fd = fd;
	x->tmpfile = 1;
	x->wpos = 0;
	return 1;
}

// The linker: one thread that names the unnamed files the loop completed,
// in the order they were submitted. The loop queues them as transfers
// finish and wakes the thread at most once per pass (mg_link_kick);
// results come back through mg_link_collect.
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

// copy_in writes the unnamed file's bytes to dfd/part, taken for this
// process (see part.c) and emptied, for systems that can link
// it neither way. Returns the part's descriptor, still holding it until
// it is renamed, or -1 with errno.
static int copy_in(int fd, int dfd, const char *part) {
	int out = mg_part_lock(dfd, part, 1, NULL);
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
		int e = mg_pwrite_all(out, buf, n, off);
		if (e) {
			unlinkat(dfd, part, 0);
			close(out);
			errno = e;
			return -1;
		}
		off += n;
	}
}


// link_one names one file; returns 0 or an errno.
static int link_one(struct link_item *it) {
	int dfd;
	const char *name = mg_at(&mg_link_dir, it->path, &dfd);
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
		if (dfd == mg_link_dir.fd && mg_link_dir.clean < 0)
			mg_link_dir.clean = mg_dir_clean(dfd);
		if (dfd != mg_link_dir.fd || !mg_link_dir.clean)
			mg_part_remove_at(dfd, part, -1, 1);
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
			if ((err = mg_part_remove_at(dfd, part, -1, 1)) != 0)
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
	mg_at_done(&mg_link_dir);
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
	// Taken for this process (see part.c) until renamed.
	int fd = mg_part_lock(dfd, part, 1, NULL);
	if (fd < 0 || ftruncate(fd, 0) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	it->op = MG_OP_WRITE;
	e = mg_pwrite_all(fd, it->buf, it->len, 0);
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
		mg_at(&mg_link_dir, it->path, &dfd);
		// The cached directory, or (when it would not open) the path, so
		// that the error is the directory's own.
		int fd = dfd != AT_FDCWD ? openat(dfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0666)
		                         : open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0666);
		e = errno;
		if (fd >= 0 && REFUSED()) {
			close(fd);
			fd = -1;
			e = EOPNOTSUPP;
		}
		if (fd < 0 && (e == EOPNOTSUPP || e == EISDIR || e == EINVAL)) {
			// No O_TMPFILE here: NAME.part, renamed, as the loop would.
			__atomic_store_n(&tmp_on, 0, __ATOMIC_RELAXED);
			e = write_part(it, dfd, dfd != AT_FDCWD ? NULL : dir);
			mg_at_done(&mg_link_dir);
			free(dir);
			return e;
		}
		mg_at_done(&mg_link_dir);
		if (fd >= 0) {
			it->op = MG_OP_WRITE;
			free(dir);
			if ((e = mg_pwrite_all(fd, it->buf, it->len, 0)) != 0) {
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
		if (!p || mg_mkdirs(p) != 0) {
			e = p ? errno : ENOMEM;
			it->op = MG_OP_MKDIR;
			free(p);
			break;
		}
		free(p);
		mg_forget(&mg_link_dir);
	}
	free(dir);
	return e;
}

static void *link_main(void *arg);

// start_linker starts the linker's thread, detached: no signals (the Go
// runtime's threads handle them), a small stack. Returns 0 or
// pthread_create's error.
static int start_linker(void) {
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_t t;
	int rc = pthread_create(&t, &attr, link_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
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
		if (start_linker() != 0) {
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
