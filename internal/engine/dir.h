// The cached output directory: files are opened, linked and renamed
// relative to a descriptor of their directory (see dir.c).
#ifndef MULTIGET_DIR_H
#define MULTIGET_DIR_H

#include <pthread.h>

// A directory cache: one per thread that names files (the loop's and the
// linker's), each under its own lock.
struct mg_dircache {
	pthread_mutex_t mu;
	char *name;
	size_t len;
	int fd;
	int clean; // linker: -1 unknown, else mg_dir_clean of fd
	unsigned gen; // mg_forget_gen when name was last resolved
};
extern struct mg_dircache mg_loop_dir, mg_link_dir;

// mg_at resolves path to (directory descriptor, last component) and
// returns with c->mu held; mg_at_done releases it. Paths without a
// directory, or whose directory cannot be opened (missing: the caller
// creates it), resolve to (AT_FDCWD, path).
const char *mg_at(struct mg_dircache *c, const char *path, int *dfd);
void mg_at_done(struct mg_dircache *c);
// mg_forget closes c's directory, which may have been removed since.
void mg_forget(struct mg_dircache *c);
// mg_mkdirs creates the missing directories above the last component of
// p (mkdir -p of its directory). Returns 0, or -1 with errno set and p cut
// at the directory that could not be made.
int mg_mkdirs(char *p);
// mg_dir_clean says whether dfd held no *.part when this run first asked
// (see linker.c); linker thread only.
int mg_dir_clean(int dfd);

// mg_rename renames from to to (RENAME_NOREPLACE with noreplace) relative
// to the cached output directory. Returns 0 or an errno value.
int mg_rename(const char *from, const char *to, int noreplace);
// mg_dir_forget closes the loop's cached output directory and makes the
// linker's next mg_at close its own: the loop never waits for the linker's
// lock, which the linker holds across its file operations.
void mg_dir_forget(void);
// mg_run_done closes both cached output directories and forgets what the
// linker learnt of them: called at the end of every run, the linker idle.
void mg_run_done(void);

#ifdef MG_TEST
// mg_test_hold_link_dir(1) has a thread of its own take the linker's
// directory lock, as the linker does across a file operation, and returns
// once it is held; mg_test_hold_link_dir(0) lets it go.
void mg_test_hold_link_dir(int hold);
#endif

#endif
