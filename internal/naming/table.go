package naming

import (
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// table is an open-addressing hash set of 8-byte slots, in memory mapped
// outside the Go heap: it is the one structure that grows with a list's
// length, and the collector neither scans it nor counts it when pacing, so
// it costs exactly its pages. A slot holds a 44-bit fingerprint of the
// path's hash (which also picks its home slot, so the table can grow
// without the full hash) and a 20-bit claim number that leads to the
// claimant's source (refIndexUnknown past a million claims).
type table struct {
	mem   []byte
	slots []uint64 // 0 = empty
	n     int
}

const (
	tableMinSlots   = 1 << 6
	idxBits         = 20
	refIndexUnknown = 1<<idxBits - 1
)

// fingerprint takes 44 bits of the hash, never 0.
func fingerprint(k uint64) uint64 { return (k >> idxBits) | 1 }

func (t *table) get(fp uint64) (idx uint32, ok bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := fp & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>idxBits == fp {
			return uint32(s & refIndexUnknown), true
		}
	}
}

// put adds fp, which must not be present, with claim number idx.
func (t *table) put(fp uint64, idx uint32) {
	// Linear probing stays quick up to a load of 0.85 (about 20 probes
	// for a miss, in one or two cache lines); a high load keeps the table
	// near 10 bytes a path.
	if 20*(t.n+1) > 17*len(t.slots) {
		t.grow()
	}
	t.insert(fp<<idxBits | uint64(min(idx, refIndexUnknown)))
}

func (t *table) insert(slot uint64) {
	mask := uint64(len(t.slots) - 1)
	i := (slot >> idxBits) & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slot
	t.n++
}

func (t *table) grow() {
	n := max(2*len(t.slots), tableMinSlots)
	old := *t
	mem, err := unix.Mmap(-1, 0, n*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		mem = make([]byte, n*8) // no mapping to be had: use the Go heap
	}
	*t = table{mem: mem, slots: unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), n)}
	for _, s := range old.slots {
		if s != 0 {
			t.insert(s)
		}
	}
	if old.mem != nil {
		_ = unix.Munmap(old.mem) // fails harmlessly for a heap fallback
	}
}

// shardedTable splits the keys over 64 tables by their top bits. Each grows
// on its own, so growing never needs the old and the new copy of the whole
// set at once: peak memory stays within a 64th of the steady size.
type shardedTable [64]table

func (s *shardedTable) get(k uint64) (uint32, bool) { return s[k>>58].get(fingerprint(k)) }
func (s *shardedTable) put(k uint64, idx uint32)    { s[k>>58].put(fingerprint(k), idx) }

// sourceRuns maps claim numbers to sources compactly: lists are read in
// order, so consecutive claims mostly come from consecutive lines of one
// input, and a run records only where that stops being true.
type sourceRuns struct {
	runs []sourceRun
	n    uint32 // claims recorded
}

type sourceRun struct {
	first uint32 // claim number of the run's first claim
	name  uint32 // index into Targets.names
	line  uint32 // line of the first claim; refNoLine: name is the whole source
}

// add records the source of the next claim and returns its number.
func (r *sourceRuns) add(name, line uint32) uint32 {
	idx := r.n
	r.n++
	if k := len(r.runs); k > 0 {
		last := r.runs[k-1]
		if last.name == name && line != refNoLine && last.line != refNoLine && line == last.line+(idx-last.first) {
			return idx
		}
	}
	r.runs = append(r.runs, sourceRun{first: idx, name: name, line: line})
	return idx
}

// lookup returns the name and line of claim idx.
func (r *sourceRuns) lookup(idx uint32) (name, line uint32) {
	i := sort.Search(len(r.runs), func(i int) bool { return r.runs[i].first > idx }) - 1
	run := r.runs[i]
	if run.line == refNoLine {
		return run.name, refNoLine
	}
	return run.name, run.line + (idx - run.first)
}
