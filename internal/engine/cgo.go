package engine

/*
#cgo CFLAGS: -O2 -Wno-deprecated-declarations
#cgo LDFLAGS: -lcurl -ldl
#include <stdlib.h>
#include "dir.h"
#include "easy.h"
#include "sockets.h"
#include "xfer.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// What mux.go needs of libcurl that the binding does not name.
const (
	moptMaxConcurrentStreams = int(C.CURLMOPT_MAX_CONCURRENT_STREAMS) // libcurl >= 7.67
	moptMaxHostConnections   = int(C.CURLMOPT_MAX_HOST_CONNECTIONS)   // libcurl >= 7.30
	infoHTTPVersion          = C.CURLINFO_HTTP_VERSION
	httpVersion2             = int(C.CURL_HTTP_VERSION_2_0)
	httpVersion3             = 30 // CURL_HTTP_VERSION_3, a name only from 7.66 on
)

// cxfer wraps the C side of one transfer. It is only touched by the engine
// goroutine, between calls into libcurl, so the counters need no locking.
type cxfer struct{ p *C.mg_xfer }

func newCXfer(easy unsafe.Pointer, path string, checkHTTP bool, part *C.mg_part) (cxfer, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	p := C.mg_xfer_new(easy, cp, cbool(checkHTTP), part)
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
func (x cxfer) state() int          { return int(x.p.state) }
func (x cxfer) code() int           { return int(x.p.code) }
func (x cxfer) errbuf() string      { return C.GoString(&x.p.errbuf[0]) }
func (x cxfer) finish() bool        { return C.mg_xfer_finish(x.p) == 0 }
func (x cxfer) keep() bool          { return C.mg_xfer_keep(x.p) == 0 }
func (x cxfer) setSegment()         { x.p.segment = 1 }
func (x cxfer) setProbe()           { x.p.probe = 1 }
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
// end > offset), with If-Range: validator when there is one: the request
// is built here, and the write path told what to check in the response.
func (x cxfer) resume(offset, end int64, shared slist, validator string) error {
	r := strconv.FormatInt(offset, 10) + "-"
	if end > offset {
		r += strconv.FormatInt(end-1, 10)
	}
	if err := setopt(x.p.easy, C.CURLOPT_RANGE, r); err != nil {
		return err
	}
	cv := C.CString(validator)
	defer C.free(unsafe.Pointer(cv))
	if C.mg_xfer_expect(x.p, C.longlong(offset), C.longlong(end), cv) != 0 {
		return errors.New("out of memory")
	}
	if validator == "" {
		return nil
	}
	return x.addHeader(shared, "If-Range: "+validator)
}

// addHeader sends line with this attempt's request, after shared (the
// attempt's own list, freed with the transfer).
func (x cxfer) addHeader(shared slist, line string) error {
	l := shared.with(line)
	C.mg_slist_free(x.p.headers)
	x.p.headers = l.p
	return l.set(x.p.easy, optHTTPHeader)
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

// BusyError is an entry whose NAME.part another process holds (see
// part.c): it is left alone.
type BusyError struct{ Path string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("cannot create %s: another process is writing it (another multiget on the same directory?); "+
		"let that run finish, or use another --dir", e.Path)
}

// partHold is an entry's hold on its NAME.part (see part.c),
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

// prepareEasy points a fresh or reused handle at url, with no Range and
// the shared headers (which may be empty), waiting for a multiplexed
// connection with pipeWait, and speaking HTTP/1.1 only with h1 (so that
// it gets a connection of its own); else libcurl's default (HTTP/2 over
// TLS where it has HTTP/2). A reused handle may carry the last attempt's
// Range and headers.
func prepareEasy(easy unsafe.Pointer, url string, shared slist, pipeWait, h1 bool) error {
	version := C.CURL_HTTP_VERSION_NONE
	if h1 {
		version = C.CURL_HTTP_VERSION_1_1
	}
	if err := setopt(easy, C.CURLOPT_URL, url); err != nil {
		return err
	}
	if err := setopt(easy, C.CURLOPT_PIPEWAIT, int(cbool(pipeWait))); err != nil {
		return err
	}
	if err := setopt(easy, C.CURLOPT_HTTP_VERSION, int(version)); err != nil {
		return err
	}
	if err := setopt(easy, C.CURLOPT_RANGE, nil); err != nil {
		return err
	}
	return shared.set(easy, optHTTPHeader)
}

// setopt sets a string option (nil resets it; libcurl copies strings) or
// a long one: curl_easy_setopt is variadic, which cgo cannot call.
func setopt(easy unsafe.Pointer, opt C.CURLoption, v any) error {
	var rc C.CURLcode
	switch v := v.(type) {
	case nil:
		rc = C.mg_setopt_str(easy, opt, nil)
	case string:
		cs := C.CString(v)
		rc = C.mg_setopt_str(easy, opt, cs)
		C.free(unsafe.Pointer(cs))
	case int:
		rc = C.mg_setopt_long(easy, opt, C.long(v))
	default:
		panic(fmt.Sprintf("setopt: %T", v))
	}
	if rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

func parkEasy(easy unsafe.Pointer) { C.mg_easy_park(easy) }

// tlsShare is the engine's share handle for TLS sessions, and the cookie
// store with cookies (nil when libcurl cannot share them: every handle
// then keeps its own sessions, as before).
type tlsShare struct{ p unsafe.Pointer }

func newTLSShare(cookies bool) tlsShare { return tlsShare{C.mg_share_new(cbool(cookies))} }

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

// with returns a new list of l's items followed by extra.
func (l slist) with(extra ...string) slist {
	var items []string
	for s := l.p; s != nil; s = s.next {
		items = append(items, C.GoString(s.data))
	}
	return newSlist(append(items, extra...))
}

func (l slist) set(easy unsafe.Pointer, opt int) error {
	if rc := C.mg_setopt_slist(easy, C.CURLoption(opt), l.p); rc != C.CURLE_OK {
		return curlError(int(rc))
	}
	return nil
}

func (l slist) free() { C.mg_slist_free(l.p) }

func highSockets() int { return int(C.mg_high_sockets()) }

// cbool is b as a C int (1 or 0).
func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// multiPoll waits in curl_multi_poll on libcurl's sockets.
func multiPoll(multi unsafe.Pointer, timeoutMS int) error {
	var n C.int
	if rc := C.mg_multi_poll(multi, C.int(timeoutMS), &n); rc != C.CURLM_OK {
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

// applyTuning sets the C side's switches for the run about to start.
func applyTuning(t Tuning) {
	C.mg_set_switches(C.mg_switches{
		unnamed:  cbool(!t.NoUnnamed),
		handover: cbool(!t.NoHandover),
	})
}

// renameAt renames from to to, relative to the output directory the C side
// keeps open (see dir.c); with noreplace, an existing to is an EEXIST.
func renameAt(from, to string, noreplace bool) error {
	cf, ct := C.CString(from), C.CString(to)
	defer C.free(unsafe.Pointer(cf))
	defer C.free(unsafe.Pointer(ct))
	if e := C.mg_rename(cf, ct, cbool(noreplace)); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}
