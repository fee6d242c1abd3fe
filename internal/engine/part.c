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
// filesystem has no flock, files are written unlocked.

#include "part.h"
#include "dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int mg_part_lock(int dfd, const char *base, int create, int *created) {
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

void mg_part_release(mg_part *p) {
	if (p && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

void mg_part_free(mg_part *p) {
	mg_part_release(p);
	free(p);
}

int mg_part_hold(mg_part *p, const char *path) {
	if (p->fd >= 0)
		return 0;
	int dfd;
	const char *base = mg_at(&mg_loop_dir, path, &dfd);
	p->fd = mg_part_lock(dfd, base, 0, NULL);
	int e = p->fd < 0 ? errno : 0;
	mg_at_done(&mg_loop_dir);
	return e;
}

// A .meta is never left describing a NAME.part of another process.
int mg_part_remove_at(int dfd, char *part, int fd, int meta) {
	int own = fd < 0, link = 0;
	if (own)
		fd = mg_part_lock(dfd, part, 0, NULL);
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
	const char *base = mg_at(&mg_loop_dir, path, &dfd);
	size_t n = strlen(base);
	char *part = malloc(n + sizeof ".meta");
	int e = ENOMEM;
	if (part) {
		memcpy(part, base, n + 1);
		e = mg_part_remove_at(dfd, part, p ? p->fd : -1, meta);
		free(part);
	}
	mg_at_done(&mg_loop_dir);
	mg_part_release(p);
	return e;
}
