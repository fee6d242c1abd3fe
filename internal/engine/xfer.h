// The body path of a transfer lives in C: libcurl hands each chunk to
// mg_write, which appends it to a per-transfer buffer and writes it to the
// output descriptor in large pieces. No chunk crosses into Go; Go reads the
// counters in mg_xfer between calls to curl_multi_perform, on the same
// goroutine that drives the multi handle.
#ifndef MULTIGET_XFER_H
#define MULTIGET_XFER_H

#include <curl/curl.h>
#include <sys/select.h>

enum {
	MG_FRESH = 0,    // no body byte seen yet
	MG_WRITING = 1,  // output open, body flowing
	MG_REJECTED = 2, // the response status is not a success: body refused
	MG_IOERR = 3,    // the output could not be created or written
	MG_RANGE_BAD = 4, // a 206 answer that does not start where we resume
};

enum {
	MG_OP_NONE = 0,
	MG_OP_MKDIR = 1,
	MG_OP_OPEN = 2,
	MG_OP_WRITE = 3,
	MG_OP_CLOSE = 4,
	MG_OP_LINK = 5,
};

// Spliced receive, per transfer (see xfer.c).
enum {
	MG_DIRECT_NEVER = -1,   // not for this attempt
	MG_DIRECT_NOT_YET = 0,  // the body has not gone to a writer yet
	MG_DIRECT_LEARNING = 1, // registered, learning libcurl's socket and buffer
	MG_DIRECT_ON = 2,       // splicing
};

typedef struct mg_pauser mg_pauser;

// mg_part is one entry's hold on its NAME.part, shared by every transfer of
// the entry (attempts, ranges of a split download): fd is an open
// descriptor of the file with flock(LOCK_EX) on it, -1 while the entry
// holds none. Another process (another multiget on the same directory)
// cannot take the file while it is held; see "Owning NAME.part" in xfer.c.
typedef struct mg_part {
	int fd;
} mg_part;

mg_part *mg_part_new(void);
// mg_part_free releases the hold (closing fd) and frees p.
void mg_part_free(mg_part *p);
// mg_part_hold takes an existing path (NAME.part) for p unless p holds it
// already. Returns 0, or an errno: EWOULDBLOCK when another process holds it.
int mg_part_hold(mg_part *p, const char *path);
// mg_part_remove removes path (NAME.part) and, with meta, path.meta (first)
// when p holds the file or no process does; then releases p. Returns 0, or
// EWOULDBLOCK when another process holds it (both are left alone).
int mg_part_remove(mg_part *p, const char *path, int meta);

typedef struct mg_xfer {
	CURL *easy;
	char *path;          // temporary output path (NAME.part), owned
	mg_part *part;       // the entry's hold on it (borrowed), or NULL
	int part_gone;       // resuming, but NAME.part is gone or shorter now
	int fd;              // -1 until the first body byte of a success
	int state;           // MG_*
	int check_http;      // refuse bodies of non-2xx HTTP responses
	int err;             // errno of the failed operation
	int errop;           // MG_OP_* that failed
	char *errpath;       // path the failed operation was about, owned
	long code;           // response code seen at the first body byte
	long long bytes;     // body bytes accepted in this attempt
	long long offset;    // bytes already in the file, asked for with Range
	int restarted;       // resuming, but the server sent the whole body (200)
	char *ifrange;       // the validator a resume sent in If-Range, owned
	int other_version;   // MG_RANGE_BAD: the 206 named a version other than ifrange
	int hdr_end;         // the last response's header block ended (blank line seen)
	int preexisted;      // the output file existed before this attempt
	int tmp_ok;          // may be written unnamed (see "Small files" in xfer.c)
	int tmpfile;         // written unnamed (O_TMPFILE), linked when complete
	int handover;        // tmpfile whose body the linker writes (see xfer.c)
	long long wpos;      // file position of the next byte to write
	// Split downloads: a segment writes [offset, limit) of a shared file.
	int segment;         // this transfer is one range of a split download
	long long limit;     // stop at this file position (-1: no limit)
	int limit_hit;       // the limit was reached: the transfer ended itself
	long long split_min; // >0: note when the response could be split
	int splittable;      // 200 with Content-Length >= split_min and ranges
	long long total;     // that Content-Length
	struct curl_slist *headers; // this attempt's request headers, owned
	char *buf;           // write coalescing buffer, allocated on first byte
	long long held;      // its bytes counted in the memory budget (see xfer.c)
	int tight;           // beyond that budget: a small buffer, no hand-over
	size_t len, cap;
	// Background writes (large bodies; see xfer.c). Fields marked (pool)
	// are shared with a writer thread under the pool mutex.
	struct mg_wjob *jobs; // MG_WBUFS buffers once writes go to a writer
	int writer;           // index of that writer thread
	long long qpos;       // file position of the next buffer handed over
	int inflight;         // (pool) buffers queued or being written
	int waiting;          // (pool) the loop waits for one to come back
	int wfail;            // (pool) a background write failed: err is set
	int pausable;         // pause instead of waiting for a buffer (HTTP/1.x)
	int paused;           // (pool) paused until buffers or pieces come back
	int kicked;           // (pool) the writer has woken the loop for it
	mg_pauser *pauser;    // the engine's, or NULL: never pause
	// Spliced receive (see xfer.c): body bytes go from the socket to a
	// pipe and from there to the file, never through user space.
	int direct;           // MG_DIRECT_*
	int sock;             // the connection's socket once learned
	char *lbuf;           // libcurl's receive buffer once learned
	long long body;       // Content-Length of the response being spliced
	unsigned long seen;   // while learning: the last plain recv judged
	int misses;           // while learning: chunks not from that recv
	size_t spliced;       // spliced bytes whose callbacks are still to come
	int sinflight;        // (pool) spliced pieces queued or being written
	long long squeued;    // (pool) their bytes
	int starved;          // all its pieces are queued: to be paused
	struct mg_xfer *snext; // the pauser's starved list
	struct mg_xfer *pnext; // paused list (loop thread)
	char errbuf[CURL_ERROR_SIZE];
} mg_xfer;

mg_xfer *mg_xfer_new(CURL *easy, const char *path, int check_http, mg_pauser *pauser, mg_part *part);
// mg_xfer_finish flushes and closes the output, creating an empty file when
// the body was empty. Returns 0, or -1 with err/errop set. It also notes
// the transfer's connection when it is multiplexed (see mg_cork).
int mg_xfer_finish(mg_xfer *x);
// mg_xfer_take_fd hands over the still open output of a transfer that
// mg_xfer_finish completed unnamed (tmpfile), for mg_link_submit; -1 for
// any other transfer.
int mg_xfer_take_fd(mg_xfer *x);
// mg_xfer_discard closes the output if open; removing NAME.part is
// mg_part_remove's (the file is the entry's, not the attempt's).
void mg_xfer_discard(mg_xfer *x);
// mg_xfer_keep flushes and closes the output but leaves it in place, for a
// later attempt or run to resume. Returns 0, or -1 with err/errop set.
int mg_xfer_keep(mg_xfer *x);
// mg_xfer_resume makes this attempt ask for the bytes from offset on (up
// to end, exclusive, when end > offset): a Range request, validated by
// If-Range when ifrange is not empty, sending the shared headers too.
CURLcode mg_xfer_resume(mg_xfer *x, long long offset, long long end, struct curl_slist *shared, const char *ifrange);
// mg_xfer_incomplete tells whether a transfer libcurl ended without an
// error is short all the same: 0 when the response is whole as far as its
// framing tells, 1 when the connection closed inside the header block
// (libcurl 7.88 reports success there), 2 when the body is shorter than
// its Content-Length (*want). HTTP only.
int mg_xfer_incomplete(mg_xfer *x, long long *want);
// mg_header returns the value of the last response's header name, or NULL.
const char *mg_header(CURL *easy, const char *name);
// mg_retry_after returns the Retry-After of the last response in seconds,
// or -1 when there is none.
long long mg_retry_after(CURL *easy);
void mg_xfer_free(mg_xfer *x);
// mg_xfer_flushed returns the file position up to which every byte of this
// attempt is written to the file (not merely buffered or queued).
long long mg_xfer_flushed(mg_xfer *x);
// mg_async_transfers counts the transfers whose writes went to a writer
// thread (for tests).
long mg_async_transfers(void);
// mg_writers_hold makes writer threads wait before each buffer while on is
// set (for tests).
void mg_writers_hold(int on);

// An engine's pauser: the transfers paused for want of a free buffer or
// spliced piece, and the descriptor the loop also waits on, readable when
// one of them may go on. mg_unpause resumes those that may and returns how
// many it resumed; loop thread only.
mg_pauser *mg_pauser_new(void);
void mg_pauser_free(mg_pauser *p);
int mg_pauser_fd(mg_pauser *p);
int mg_unpause(mg_pauser *p);

// For tests: how many times a transfer was paused since the process started
// (either way).
long mg_pauses(void);
// For tests: body bytes spliced since the process started, and a switch
// for splicing (on by default).
long long mg_spliced_bytes(void);
void mg_splice_enable(int on);

// mg_easy_prepare points a fresh or reused handle at url, with no Range
// and the shared headers (which may be NULL), waiting for a multiplexed
// connection when pipewait is set, and speaking HTTP/1.1 only when h1 is
// set (so that it gets a connection of its own). The URL is copied by
// libcurl.
CURLcode mg_easy_prepare(CURL *easy, const char *url, struct curl_slist *shared, int pipewait, int h1);
// mg_easy_park drops a finished transfer's pointers from a handle kept for
// reuse, so nothing can reach freed memory through it.
void mg_easy_park(CURL *easy);

// TLS sessions shared by every handle of an engine: a connection that a
// handle opens to a host another handle has talked to resumes that
// session instead of a full handshake. No lock callbacks: one thread uses
// all the handles. mg_share_new returns NULL when libcurl cannot share
// them; mg_share_free must come after the last handle's cleanup.
// Before 8.12 libcurl keeps sessions per easy handle unless shared, and
// reuses one for every later connection to the host. From 8.12 on the
// multi handle has a session cache of its own (the share takes its place),
// and a TLS 1.3 ticket serves one connection only (RFC 8446 C.4; see
// Curl_ssl_scache_take in lib/vtls/vtls_scache.c): connections opened at
// once resume only as many sessions as the server sent tickets.
CURLSH *mg_share_new(void);
CURLcode mg_setopt_share(CURL *easy, CURLSH *sh);
void mg_share_free(CURLSH *sh);

// Options that carry C function pointers or C-owned data, which the Go
// binding cannot set.
CURLcode mg_setopt_callbacks(CURL *easy);
CURLcode mg_setopt_xfer(CURL *easy, mg_xfer *x);
CURLcode mg_setopt_slist(CURL *easy, CURLoption opt, struct curl_slist *list);
struct curl_slist *mg_slist_append(struct curl_slist *list, const char *s);
void mg_slist_free(struct curl_slist *list);

// Number of open libcurl sockets whose descriptor is >= FD_SETSIZE, which
// curl_multi_fdset cannot report.
long mg_high_sockets(void);
// Waits on the multi handle with curl_multi_poll (no FD_SETSIZE limit).
CURLMcode mg_multi_poll(CURLM *multi, int extra_fd, int timeout_ms, int *numfds);
CURLMcode mg_multi_wakeup(CURLM *multi);

// mg_rename renames from to to (RENAME_NOREPLACE with noreplace) relative
// to the cached output directory. Returns 0 or an errno value.
int mg_rename(const char *from, const char *to, int noreplace);
// mg_dir_forget closes the cached output directories.
void mg_dir_forget(void);
// mg_run_done forgets the output directories (as mg_dir_forget) and what
// the linker learnt of them: called at the end of every run.
void mg_run_done(void);

// mg_cork corks (on) or uncorks every connection known to be multiplexed
// (HTTP/2), around a perform that starts transfers (see xfer.c).
void mg_cork(int on);
// For tests: how many performs were corked since the process started, how
// many multiplexed connections are corked now, and how many are known.
long mg_corks(void);
int mg_corked(void);
int mg_mux_sockets(void);

// Keeps glibc from handing libcurl's per-transfer receive buffer back to
// the kernel after every transfer (see xfer.c).
void mg_tune_malloc(void);

// The calling thread's involuntary context switches so far (-1 on error),
// and a move of it to another CPU it may use (see unpair in engine.go):
// returns that CPU, or -1 when there is none or the move failed.
long mg_thread_preemptions(void);
int mg_move_cpu(void);

// Small files written unnamed, linked into place by a helper thread (see
// xfer.c). mg_link_submit queues fd (which it then owns) to become path
// (RENAME_NOREPLACE semantics with noreplace) under id; mg_link_kick wakes
// the thread when it sleeps on queued work; mg_link_collect returns up to
// max finished ids with their errno (0: linked; EEXIST with noreplace:
// path existed), waiting for at least one when block is set. Loop thread
// only, apart from the helper.
int mg_link_submit(int fd, const char *path, int noreplace, long id);
// mg_link_submit_body queues a complete body instead (taken from its
// transfer with mg_xfer_take_body; the linker writes and frees it).
int mg_link_submit_body(char *buf, long long len, const char *path, int noreplace, long id);
int mg_xfer_take_body(mg_xfer *x, char **buf, long long *len);
// mg_body_free frees a body taken with mg_xfer_take_body (len bytes) that
// was not handed over.
void mg_body_free(char *buf, long long len);
// mg_held_bytes: bytes in transfers' first buffers and handed-over bodies
// (for tests).
long long mg_held_bytes(void);
void mg_link_kick(void);
// ops[i]: the MG_OP_* that failed when errs[i] is set.
int mg_link_collect(long *ids, int *errs, int *ops, int max, int block);
// For tests: 0 turns unnamed files off; 2 makes linking by descriptor fail
// as on kernels that refuse it (the /proc path is used); 3 makes that fail
// too (the data is copied into NAME.part and renamed); 4 makes O_TMPFILE
// fail as on filesystems without it (which turns unnamed files off); 1 is
// the default. mg_tmpfile_state says where things stand: 10 when unnamed
// files are in use, plus how they are linked (1 by descriptor, 2 through
// /proc, 3 by copying).
void mg_tmpfile_mode(int mode);
int mg_tmpfile_state(void);

#endif
