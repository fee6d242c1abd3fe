package engine

/*
#cgo CFLAGS: -O2 -Wno-deprecated-declarations
#cgo LDFLAGS: -lcurl
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include "xfer.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// cxfer wraps the C side of one transfer. It is only touched by the engine
// goroutine, between calls into libcurl, so the counters need no locking.
type cxfer struct{ p *C.mg_xfer }

func newCXfer(easy unsafe.Pointer, path string, checkHTTP bool, z pauser, part *C.mg_part) (cxfer, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	p := C.mg_xfer_new(easy, cp, cbool(checkHTTP), z.p, part)
	if p == nil {
		return cxfer{}, errors.New("out of memory")
	}
	if rc := C.mg_setopt_xfer(easy, p); rc != C.CURLE_OK {
		C.mg_xfer_free(p)
		return cxfer{}, curlError(int(rc))
	}
	return cxfer{p}, nil
}

func (x cxfer) bytes() int64        { return int64(x.p.bytes) }
func (x cxfer) paused() bool        { return x.p.paused != 0 } // set and cleared on the loop thread
func (x cxfer) state() int          { return int(x.p.state) }
func (x cxfer) code() int           { return int(x.p.code) }
func (x cxfer) errbuf() string      { return C.GoString(&x.p.errbuf[0]) }
func (x cxfer) finish() bool        { return C.mg_xfer_finish(x.p) == 0 }
func (x cxfer) keep() bool          { return C.mg_xfer_keep(x.p) == 0 }
func (x cxfer) setSegment()         { x.p.segment = 1 }
func (x cxfer) setSplitMin(n int64) { x.p.split_min = C.longlong(n) }
func (x cxfer) splittable() bool    { return x.p.splittable != 0 }
func (x cxfer) total() int64        { return int64(x.p.total) }
func (x cxfer) setLimit(end int64)  { x.p.limit = C.longlong(end) }
func (x cxfer) limitHit() bool      { return x.p.limit_hit != 0 }
func (x cxfer) flushed() int64      { return int64(C.mg_xfer_flushed(x.p)) }
func (x cxfer) position() int64     { return int64(x.p.offset) + int64(x.p.bytes) }
func (x cxfer) restarted() bool     { return x.p.restarted != 0 }
func (x cxfer) otherVersion() bool  { return x.p.other_version != 0 }
func (x cxfer) preexisted() bool    { return x.p.preexisted != 0 }
func (x cxfer) allowTmp()           { x.p.tmp_ok = 1 }
func (x cxfer) tmpfile() bool       { return x.p.tmpfile != 0 }

// incomplete says why a transfer libcurl ended without an error is short
// all the same (see mg_xfer_incomplete), "" when it is whole.
func (x cxfer) incomplete() string {
	var want C.longlong
	switch C.mg_xfer_incomplete(x.p, &want) {
	case 1:
		return "the connection closed inside the response headers"
	case 2:
		return fmt.Sprintf("the body ended after %d of the %d bytes its Content-Length announced", x.bytes(), int64(want))
	}
	return ""
}

// takeFD hands over the open output of a transfer that finish completed
// unnamed (see linkSubmit); -1 for any other.
func (x cxfer) takeFD() int { return int(C.mg_xfer_take_fd(x.p)) }

// resume makes the attempt continue at offset (up to end, exclusive, when
// end > offset), with If-Range: validator.
func (x cxfer) resume(offset, end int64, shared slist, validator string) error {
	cv := C.CString(validator)
	defer C.free(unsafe.Pointer(cv))
	if rc := C.mg_xfer_resume(x.p, C.longlong(offset), C.longlong(end), shared.p, cv); rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

// retryAfter is the last response's Retry-After (seconds or HTTP date,
// parsed by libcurl), 0 when absent.
func (x cxfer) retryAfter() time.Duration {
	s := int64(C.mg_retry_after(x.p.easy))
	if s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// header returns the last response's header name, "" when absent.
func header(easy unsafe.Pointer, name string) string {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	v := C.mg_header(easy, cn)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}
func (x cxfer) discard() { C.mg_xfer_discard(x.p) }
func (x cxfer) free()    { C.mg_xfer_free(x.p) }

// partGone: a resume or range found NAME.part gone or shorter than the
// entry knew it (renamed or removed by another process meanwhile).
func (x cxfer) partGone() bool { return x.p.part_gone != 0 }

// ioError describes why the output could not be written, naming the path.
func (x cxfer) ioError() error {
	path := C.GoString(x.p.errpath)
	if x.busy() {
		return &BusyError{Path: path}
	}
	return &DiskError{Op: opName(x.p.errop), Path: path, Err: syscall.Errno(x.p.err)}
}

// outOfFDs: the output could not be opened for want of descriptors.
func (x cxfer) outOfFDs() bool {
	return x.p.state == C.MG_IOERR && (x.p.errop == C.MG_OP_OPEN || x.p.errop == C.MG_OP_MKDIR) && fdShortage(syscall.Errno(x.p.err))
}

// busy: the output was not opened because another process holds NAME.part.
func (x cxfer) busy() bool {
	return x.p.state == C.MG_IOERR && x.p.errop == C.MG_OP_OPEN && syscall.Errno(x.p.err) == syscall.EWOULDBLOCK
}

// BusyError is an entry whose NAME.part another process holds (see "Owning
// NAME.part" in xfer.c): it is left alone.
type BusyError struct{ Path string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("cannot create %s: another process is writing it (another multiget on the same directory?); "+
		"let that run finish, or use another --dir", e.Path)
}

// partHold is an entry's hold on its NAME.part (see mg_part in xfer.h),
// shared by all its transfers; the zero value holds nothing.
type partHold struct{ p *C.mg_part }

// ptr returns the C side, allocating it on first use.
func (h *partHold) ptr() *C.mg_part {
	if h.p == nil {
		h.p = C.mg_part_new()
	}
	return h.p
}

// take holds path (an existing NAME.part) unless held already.
func (h *partHold) take(path string) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	p := h.ptr()
	if p == nil {
		return syscall.ENOMEM
	}
	if e := C.mg_part_hold(p, cp); e != 0 {
		if syscall.Errno(e) == syscall.EWOULDBLOCK {
			return &BusyError{Path: path}
		}
		return syscall.Errno(e)
	}
	return nil
}

// remove removes path (NAME.part) and, with meta, its .meta, unless
// another process holds it; then releases the hold.
func (h *partHold) remove(path string, meta bool) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	C.mg_part_remove(h.p, cp, cbool(meta))
}

// release lets go of the file (renamed, or kept for -c) and frees the hold.
func (h *partHold) release() {
	if h.p != nil {
		C.mg_part_free(h.p)
		h.p = nil
	}
}

// opName says an MG_OP_* as DiskError.Op, for an error about the path the
// operation names (for MKDIR: the directory).
func opName(op C.int) string {
	switch op {
	case C.MG_OP_MKDIR:
		return "create directory"
	case C.MG_OP_OPEN:
		return "create"
	case C.MG_OP_CLOSE:
		return "close"
	case C.MG_OP_LINK:
		return "link to"
	}
	return "write"
}

const (
	stateFresh    = C.MG_FRESH
	stateWriting  = C.MG_WRITING
	stateRejected = C.MG_REJECTED
	stateIOErr    = C.MG_IOERR
	stateRangeBad = C.MG_RANGE_BAD
)

func prepareEasy(easy unsafe.Pointer, url string, shared slist, pipeWait, h1 bool) error {
	cu := C.CString(url)
	defer C.free(unsafe.Pointer(cu))
	if rc := C.mg_easy_prepare(easy, cu, shared.p, cbool(pipeWait), cbool(h1)); rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

func parkEasy(easy unsafe.Pointer) { C.mg_easy_park(easy) }

// tlsShare is the engine's share handle for TLS sessions (nil when libcurl
// cannot share them: every handle then keeps its own, as before).
type tlsShare struct{ p unsafe.Pointer }

func newTLSShare() tlsShare { return tlsShare{C.mg_share_new()} }

// attach makes easy use the shared sessions. curl_easy_duphandle does not
// copy CURLOPT_SHARE, so every new handle needs it.
func (s tlsShare) attach(easy unsafe.Pointer) error {
	if s.p == nil {
		return nil
	}
	if rc := C.mg_setopt_share(easy, s.p); rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

func (s tlsShare) free() {
	if s.p != nil {
		C.mg_share_free(s.p)
	}
}

func setCallbacks(easy unsafe.Pointer) error {
	if rc := C.mg_setopt_callbacks(easy); rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

// slist is a header list built once and shared by every handle; the Go
// binding's []string option would copy and leak one per handle.
type slist struct{ p *C.struct_curl_slist }

func newSlist(items []string) slist {
	var l slist
	for _, s := range items {
		cs := C.CString(s)
		l.p = C.mg_slist_append(l.p, cs)
		C.free(unsafe.Pointer(cs))
	}
	return l
}

func (l slist) set(easy unsafe.Pointer, opt int) error {
	if rc := C.mg_setopt_slist(easy, C.CURLoption(opt), l.p); rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

func (l slist) free() { C.mg_slist_free(l.p) }

func highSockets() int { return int(C.mg_high_sockets()) }

// asyncTransfers counts the transfers whose body went through a writer
// thread since the process started (tests check the path was taken).
func asyncTransfers() int64 { return int64(C.mg_async_transfers()) }

// holdWriters makes the writer threads wait before each buffer until it is
// called with false (tests meet queued buffers this way).
func holdWriters(on bool) { C.mg_writers_hold(cbool(on)) }

// splicedBytes counts the body bytes spliced from a socket to a file
// since the process started (tests check the path was taken).
func splicedBytes() int64 { return int64(C.mg_spliced_bytes()) }

// enableSplice turns spliced receive on or off for transfers that start
// afterwards (tests compare both paths).
func enableSplice(on bool) { C.mg_splice_enable(cbool(on)) }

// corkMux corks or uncorks the connections known to be multiplexed.
func corkMux(on bool) { C.mg_cork(cbool(on)) }

// corks counts the performs run with multiplexed connections corked since
// the process started; corked and muxSockets say how many of those
// connections are corked now, and how many are known (tests).
func corks() int64    { return int64(C.mg_corks()) }
func corked() int     { return int(C.mg_corked()) }
func muxSockets() int { return int(C.mg_mux_sockets()) }

// cbool is b as a C int (1 or 0).
func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// pauses counts the transfers paused for want of a free buffer or spliced
// piece since the process started (tests check the path was taken).
func pauses() int64 { return int64(C.mg_pauses()) }

// pauser holds an engine's transfers paused for want of a free write
// buffer or spliced piece (see xfer.c). A nil pauser never pauses: those
// transfers wait.
type pauser struct {
	p  *C.mg_pauser
	fd int // readable when a paused transfer may go on; -1 for a nil pauser
}

func newPauser() pauser {
	p := C.mg_pauser_new()
	return pauser{p, int(C.mg_pauser_fd(p))}
}

// unpause pauses the transfers whose spliced pieces are all queued,
// resumes the paused ones that have buffers and pieces again, and returns
// how many it resumed.
func (z pauser) unpause() int { return int(C.mg_unpause(z.p)) }

// free comes after every transfer that used z.
func (z pauser) free() { C.mg_pauser_free(z.p) }

// multiPoll waits in curl_multi_poll on libcurl's sockets and extraFD
// (none when negative).
func multiPoll(multi unsafe.Pointer, extraFD, timeoutMS int) error {
	var n C.int
	if rc := C.mg_multi_poll(multi, C.int(extraFD), C.int(timeoutMS), &n); rc != C.CURLM_OK {
		return errors.New(C.GoString(C.curl_multi_strerror(rc)))
	}
	return nil
}

func curlStrerror(code int) string {
	return C.GoString(C.curl_easy_strerror(C.CURLcode(code)))
}

type curlError int

func (e curlError) Error() string { return curlStrerror(int(e)) }

// Option numbers the Go binding does not name (added to libcurl after it).
const (
	optProtocolsStr      = C.CURLOPT_PROTOCOLS_STR
	optRedirProtocolsStr = C.CURLOPT_REDIR_PROTOCOLS_STR
	optHTTPHeader        = C.CURLOPT_HTTPHEADER
	optConnectTimeoutMS  = C.CURLOPT_CONNECTTIMEOUT_MS
	optTimeoutMS         = C.CURLOPT_TIMEOUT_MS
)

var tuneMallocOnce sync.Once

// tuneMalloc applies mg_tune_malloc once per process.
func tuneMalloc() { tuneMallocOnce.Do(func() { C.mg_tune_malloc() }) }

// threadPreemptions is how often the calling OS thread was preempted so
// far (involuntary context switches), or -1.
func threadPreemptions() int64 { return int64(C.mg_thread_preemptions()) }

// moveCPU moves the calling OS thread to another CPU it may run on, leaving
// its affinity as it was; it returns that CPU, or -1.
func moveCPU() int { return int(C.mg_move_cpu()) }

// currentCPU is the CPU the calling thread runs on (tests).
func currentCPU() int { return int(C.sched_getcpu()) }

// renameAt renames from to to, relative to the output directory the C side
// keeps open (see xfer.c); with noreplace, an existing to is an EEXIST.
func renameAt(from, to string, noreplace bool) error {
	cf, ct := C.CString(from), C.CString(to)
	defer C.free(unsafe.Pointer(cf))
	defer C.free(unsafe.Pointer(ct))
	if e := C.mg_rename(cf, ct, cbool(noreplace)); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}
