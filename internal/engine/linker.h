// Unnamed files and the linker thread: small bodies are written to
// O_TMPFILE files that a thread of ours names once complete; hand-over
// gives it the body itself to write (see linker.c).
#ifndef MULTIGET_LINKER_H
#define MULTIGET_LINKER_H

#include "xfer.h"

// mg_link_submit queues fd (which it then owns) to become path
// (RENAME_NOREPLACE semantics with noreplace) under id; mg_link_kick wakes
// the thread when it sleeps on queued work; mg_link_collect returns up to
// max finished ids with their errno (0: linked; EEXIST with noreplace:
// path existed) and, in ops[i], the MG_OP_* that failed, waiting for at
// least one when block is set. Loop thread only, apart from the linker.
int mg_link_submit(int fd, const char *path, int noreplace, long id);
// mg_link_submit_body queues a complete body instead (taken from its
// transfer with mg_xfer_take_body; the linker writes and frees it).
int mg_link_submit_body(char *buf, long long len, const char *path, int noreplace, long id);
void mg_link_kick(void);
int mg_link_collect(long *ids, int *errs, int *ops, int max, int block);

// For the write path: mg_unnamed_open decides, at the first byte of a
// fresh body of cl bytes, whether x is written unnamed (x->tmpfile, with
// x->fd open) or handed over (x->handover, no descriptor). Returns 1 when
// it is, 0 when x takes NAME.part, -1 when creating its directory failed
// (err says why). mg_unnamed_reset starts a run with unnamed files on or
// off.
int mg_unnamed_open(mg_xfer *x, long long cl);
void mg_unnamed_reset(int on);

#ifdef MG_TEST
// mg_tmpfile_mode: 2 makes linking by descriptor fail as on kernels that
// refuse it (the /proc path is used); 3 makes that fail too (the data is
// copied into NAME.part and renamed); 4 makes O_TMPFILE fail as on
// filesystems without it (which turns unnamed files off); 1 is the
// default. Runs started afterwards keep it. mg_tmpfile_state says where
// things stand: 10 when unnamed files are in use, plus how they are
// linked (1 by descriptor, 2 through /proc, 3 by copying).
void mg_tmpfile_mode(int mode);
int mg_tmpfile_state(void);
#endif

#endif
