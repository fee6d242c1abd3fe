package engine

// Descriptor limits, and the -j they allow.

import "golang.org/x/sys/unix"

// Descriptors. Every running transfer takes a socket (two while libcurl's
// threaded resolver looks its host up), a descriptor for its output, and
// its entry's hold on NAME.part; the process also keeps a reserve: the
// unnamed files waiting for the linker, cached directories, the lists
// being read, and Go's own. A -j the descriptor limit cannot
// serve would fail entries with EMFILE for multiget's own sake, so it is
// lowered to what the limit allows.
const (
	fdsPerTransfer = 4
	fdsReserve     = 64
)

// ParallelCap returns how many entries can run at once within the
// process's descriptor limit (RLIMIT_NOFILE; Go raises the soft limit to
// the hard one at start), split ways each, and that limit. A -j above the
// cap should be lowered to it. When the limit cannot be read, the cap is
// parallel itself.
func ParallelCap(parallel, split int) (n int, limit uint64) {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur == unix.RLIM_INFINITY {
		return parallel, 0
	}
	c := fdCap(rl.Cur, uint64(fdsPerTransfer*max(split, 1)))
	if c >= uint64(parallel) {
		return parallel, rl.Cur
	}
	return int(c), rl.Cur
}

// InFlightCap is how many transfers may run at once, HTTP/2 streams
// included, within descriptor limit (as ParallelCap returns it; 0 = no
// cap). A stream shares its connection's socket, but holds its output and
// its entry's hold on NAME.part; counting it at a whole transfer's
// descriptors keeps room for the connection it may open.
func InFlightCap(limit uint64) int {
	if limit == 0 {
		return 0
	}
	return int(min(fdCap(limit, fdsPerTransfer), 1<<30))
}

// fdCap is how many users of per descriptors each the limit holds beside
// the reserve, at least one.
func fdCap(limit, per uint64) uint64 {
	if limit <= fdsReserve+per {
		return 1
	}
	return (limit - fdsReserve) / per
}

// fdShortage: err is the process running out of descriptors (EMFILE) or
// the system (ENFILE), which passes as transfers end: worth waiting for,
// never a reason to fail an entry.
func fdShortage(err error) bool { return err == unix.EMFILE || err == unix.ENFILE }
