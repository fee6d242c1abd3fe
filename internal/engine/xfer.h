// The body path of a transfer lives in C: libcurl hands each chunk to
// mg_write, which appends it to a per-transfer buffer and writes it to the
// output descriptor in large pieces. No chunk crosses into Go; Go reads the
// counters in mg_xfer between calls to curl_multi_perform, on the same
// goroutine that drives the multi handle. Requests are built in Go; C is
// told only what to check in the response (mg_xfer_expect).
#ifndef MULTIGET_XFER_H
#define MULTIGET_XFER_H

#include <curl/curl.h>

#include "conns.h"
#include "part.h"

enum {
	MG_FRESH = 0,     // no body byte seen yet
	MG_WRITING = 1,   // output open, body flowing
	MG_REJECTED = 2,  // the response status is not a success: body refused
	MG_IOERR = 3,     // the output could not be created or written
	MG_RANGE_BAD = 4, // a 206 answer that does not start where we resume
};

// A probe (rerun.go) reads at most this much of a 416's error page (nginx
// sends about 200 bytes) to keep its connection; a longer one is cut.
#define MG_PROBE_BODY (16 * 1024)

enum {
	MG_OP_NONE = 0,
	MG_OP_MKDIR = 1,
	MG_OP_OPEN = 2,
	MG_OP_WRITE = 3,
	MG_OP_CLOSE = 4,
	MG_OP_LINK = 5,
};

// The optimizations, each with one switch (1: on), set per run from Go
// (engine.Tuning) before any transfer starts; loop thread only. Off is
// the plain path: unnamed 0, every file is NAME.part renamed to NAME (no
// O_TMPFILE, no linker); handover 0, the linker never writes a body.
typedef struct mg_switches {
	int unnamed, handover;
} mg_switches;
extern mg_switches mg_on;
void mg_set_switches(mg_switches s);

// Counters and hooks for tests exist only in test builds (-tags mgtest
// defines MG_TEST); MG_COUNT compiles to nothing in the product.
#ifdef MG_TEST
#define MG_COUNT(v) __atomic_add_fetch(&(v), 1, __ATOMIC_RELAXED)
#else
#define MG_COUNT(v) ((void)0)
#endif

// A transfer's write buffer: large enough that a fast transfer costs few
// write(2) calls, small enough that -j transfers stay cheap; small bodies
// get a buffer of their own size. A chunk from libcurl at least this large
// is written as it is, without a copy.
#define MG_BUFCAP (256 * 1024)

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
	int probe;           // asks only whether a saved file is whole: no 206 body is kept
	long long skipped;   // bytes of a probe's 416 error page read past
	int hdr_end;         // the last response's header block ended (blank line seen)
	mg_conn conn;        // the connection libcurl gave it (conns.h)
	int preexisted;      // the output file existed before this attempt
	int tmp_ok;          // may be written unnamed (see linker.c)
	int tmpfile;         // written unnamed (O_TMPFILE), linked when complete
	int handover;        // tmpfile whose body the linker writes (see linker.c)
	long long wpos;      // file position of buf[0]: every earlier byte is written
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
	char errbuf[CURL_ERROR_SIZE];
} mg_xfer;

mg_xfer *mg_xfer_new(CURL *easy, const char *path, int check_http, mg_part *part);
// mg_xfer_expect tells the write path what the attempt's request asked
// for: the bytes from offset on, up to end (exclusive) when end > offset,
// of the version named by ifrange (If-Range; may be empty).
int mg_xfer_expect(mg_xfer *x, long long offset, long long end, const char *ifrange);
// mg_xfer_finish flushes and closes the output, creating an empty file when
// the body was empty. Returns 0, or -1 with err/errop set.
int mg_xfer_finish(mg_xfer *x);
// mg_xfer_take_fd hands over the still open output of a transfer that
// mg_xfer_finish completed unnamed (tmpfile), for mg_link_submit; -1 for
// any other transfer.
int mg_xfer_take_fd(mg_xfer *x);
// mg_xfer_take_body hands over the complete body of a transfer that
// mg_xfer_finish completed for the linker to write (handover).
int mg_xfer_take_body(mg_xfer *x, char **buf, long long *len);
// mg_body_free frees a body taken with mg_xfer_take_body (len bytes) that
// was not handed over.
void mg_body_free(char *buf, long long len);
// mg_xfer_discard closes the output if open; removing NAME.part is
// mg_part_remove's (the file is the entry's, not the attempt's).
void mg_xfer_discard(mg_xfer *x);
// mg_xfer_keep flushes and closes the output but leaves it in place, for a
// later attempt or run to resume. Returns 0, or -1 with err/errop set.
int mg_xfer_keep(mg_xfer *x);
// mg_xfer_incomplete tells whether a transfer libcurl ended without an
// error is short all the same: 0 when the response is whole as far as its
// framing tells, 1 when the connection closed inside the header block
// (libcurl 7.88 reports success there), 2 when the body is shorter than
// its Content-Length (*want). HTTP only.
int mg_xfer_incomplete(mg_xfer *x, long long *want);
void mg_xfer_free(mg_xfer *x);
// mg_xfer_flushed returns the file position up to which every byte of this
// attempt is written to the file (not merely buffered).
long long mg_xfer_flushed(mg_xfer *x);

// libcurl's write and header callbacks (CURLOPT_WRITEFUNCTION and
// CURLOPT_HEADERFUNCTION), set by mg_setopt_callbacks.
size_t mg_write(char *ptr, size_t size, size_t nmemb, void *ud);
size_t mg_header_line(char *p, size_t size, size_t nmemb, void *ud);

// For the other C files: mg_set_err records errno as x's failure of op on
// path; mg_pwrite_all writes len bytes of buf at off (0 or an errno);
// mg_unhold gives n bytes back to the memory budget; mg_mkdir_parents
// creates the missing parents of path (mkdir -p of its directory), or
// returns -1 with the error recorded.
void mg_set_err(mg_xfer *x, int op, const char *path);
int mg_mkdir_parents(mg_xfer *x, const char *path);
int mg_pwrite_all(int fd, const char *buf, long long len, long long off);
void mg_unhold(long long n);

#endif
