//go:build mgtest

package engine

// Test hooks and counters of the C side, in test builds only (go test
// -tags mgtest): the CFLAGS below define MG_TEST for every C file of the
// package, which compiles them in (see MG_COUNT in xfer.h).

/*
#cgo CFLAGS: -DMG_TEST
#include "linker.h"
#include "dir.h"
*/
import "C"

// setTmpfileMode: see mg_tmpfile_mode.
func setTmpfileMode(mode int) { C.mg_tmpfile_mode(C.int(mode)) }

// tmpfileState: see mg_tmpfile_state.
func tmpfileState() int { return int(C.mg_tmpfile_state()) }

// holdLinkDir: see mg_test_hold_link_dir.
func holdLinkDir(hold bool) {
	h := 0
	if hold {
		h = 1
	}
	C.mg_test_hold_link_dir(C.int(h))
}
