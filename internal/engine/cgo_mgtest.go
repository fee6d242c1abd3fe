//go:build mgtest

package engine

// Test hooks and counters of the C side, in test builds only (go test
// -tags mgtest): the CFLAGS below define MG_TEST for every C file of the
// package, which compiles them in (see MG_COUNT in xfer.h).

/*
#cgo CFLAGS: -DMG_TEST
#include "linker.h"
#include "writers.h"
*/
import "C"

// asyncTransfers counts the transfers whose body went through a writer
// thread since the process started (tests check the path was taken).
func asyncTransfers() int64 { return int64(C.mg_async_transfers()) }

// holdWriters makes the writer threads wait before each buffer until it is
// called with false (tests meet queued buffers this way).
func holdWriters(on bool) { C.mg_writers_hold(cbool(on)) }

// everyFillFast makes every buffer fill count as fast (writers.c) until
// the test ends, so that the tests of the writer path do not depend on the
// machine's speed.
func everyFillFast(t interface{ Cleanup(func()) }) {
	C.mg_writers_fast_fill(C.longlong(1 << 62))
	t.Cleanup(func() { C.mg_writers_fast_fill(0) })
}

// setTmpfileMode: see mg_tmpfile_mode.
func setTmpfileMode(mode int) { C.mg_tmpfile_mode(C.int(mode)) }

// tmpfileState: see mg_tmpfile_state.
func tmpfileState() int { return int(C.mg_tmpfile_state()) }
