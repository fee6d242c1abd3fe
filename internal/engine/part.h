// Owning NAME.part: a NAME.part is written only by the process that holds
// flock(LOCK_EX) on it (see part.c).
#ifndef MULTIGET_PART_H
#define MULTIGET_PART_H

// mg_part is one entry's hold on its NAME.part, shared by every transfer of
// the entry (attempts, ranges of a split download): fd is an open
// descriptor of the file with flock(LOCK_EX) on it, -1 while the entry
// holds none. Another process (another multiget on the same directory)
// cannot take the file while it is held.
typedef struct mg_part {
	int fd;
} mg_part;

mg_part *mg_part_new(void);
// mg_part_free releases the hold (closing fd) and frees p.
void mg_part_free(mg_part *p);
// mg_part_release closes p's descriptor, if any, keeping p.
void mg_part_release(mg_part *p);
// mg_part_hold takes an existing path (NAME.part) for p unless p holds it
// already. Returns 0, or an errno: EWOULDBLOCK when another process holds it.
int mg_part_hold(mg_part *p, const char *path);
// mg_part_remove removes path (NAME.part) and, with meta, path.meta (first)
// when p holds the file or no process does; then releases p. Returns 0, or
// EWOULDBLOCK when another process holds it (both are left alone).
int mg_part_remove(mg_part *p, const char *path, int meta);

// mg_part_lock opens dfd/base (creating it with create; *created says
// whether it did) and takes the lock on it. Returns the descriptor, or -1
// with errno: EWOULDBLOCK when another process holds it.
int mg_part_lock(int dfd, const char *base, int create, int *created);
// mg_part_remove_at removes dfd/part and (with meta) dfd/part.meta, the
// .meta first, when fd (the part's locked descriptor, or -1) holds it or
// nothing does. part must have room for ".meta" after it. Returns 0 or
// EWOULDBLOCK.
int mg_part_remove_at(int dfd, char *part, int fd, int meta);

#endif
