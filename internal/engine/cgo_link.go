package engine

// The Go side of the linker thread (see linker.c): handing it complete
// unnamed files and bodies, and collecting what it named.

/*
#include <stdlib.h>
#include "dir.h"
#include "linker.h"
#include "xfer.h"
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// runDone forgets the output directories and what the linker learnt of
// them, at the end of a run.
func runDone() { C.mg_run_done() }

// linkSubmit queues the unnamed file fd (which it then owns) to be linked
// as path by the linker thread; false when it could not be queued (fd is
// still the caller's then).
func linkSubmit(fd int, path string, noreplace bool, id int64) bool {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return C.mg_link_submit(C.int(fd), cp, cbool(noreplace), C.long(id)) == 0
}

// linkKick wakes the linker when it sleeps with work queued.
func linkKick() { C.mg_link_kick() }

type linked struct {
	id  int64
	err syscall.Errno
	op  string // what failed, as DiskError.Op
}

// linkCollect appends finished links to out; with block it waits for one.
func linkCollect(out []linked, block bool) []linked {
	var ids [64]C.long
	var errs, ops [64]C.int
	n := int(C.mg_link_collect(&ids[0], &errs[0], &ops[0], 64, cbool(block)))
	for i := 0; i < n; i++ {
		op := opName(ops[i])
		if ops[i] == C.MG_OP_MKDIR {
			op += " for" // the error names the file, not the directory
		}
		out = append(out, linked{int64(ids[i]), syscall.Errno(errs[i]), op})
	}
	return out
}

// takeBody hands over the body of a transfer that finish completed for the
// linker to write (see "Hand-over" in linker.c); ok is false for any other.
func (x cxfer) takeBody() (buf unsafe.Pointer, n int64, ok bool) {
	var b *C.char
	var l C.longlong
	if C.mg_xfer_take_body(x.p, &b, &l) != 0 {
		return nil, 0, false
	}
	return unsafe.Pointer(b), int64(l), true
}

// linkSubmitBody queues a body from takeBody (which it then owns) to be
// written and linked as path; false when it could not be queued.
func linkSubmitBody(buf unsafe.Pointer, n int64, path string, noreplace bool, id int64) bool {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return C.mg_link_submit_body((*C.char)(buf), C.longlong(n), cp, cbool(noreplace), C.long(id)) == 0
}

// freeBody frees a body of n bytes from takeBody that was not handed over.
func freeBody(buf unsafe.Pointer, n int64) { C.mg_body_free((*C.char)(buf), C.longlong(n)) }
