package naming

import (
	"fmt"
	"hash/maphash"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Targets detects two entries that would write the same path. Lists can
// be millions of lines long and arrive as a stream, so it keeps, per path,
// only a fingerprint of a 64-bit hash (seeded per process: a list cannot be
// crafted to collide) in a table outside the Go heap, about 10 bytes a
// path, and the claimants' sources as runs of consecutive lines. A false
// duplicate needs two paths of a list to share 44 fingerprint bits in one
// probe sequence: for a million-line list, about one chance in 10^5.
// A Targets is safe for concurrent use.
type Targets struct {
	mu    sync.Mutex
	tab   shardedTable
	src   sourceRuns
	seed  maphash.Seed
	names []string
	ids   map[string]uint32
}

// A source is a name (an index into Targets.names) and a line number;
// refNoLine means the name is the whole source. Sources beyond maxNames
// names, or beyond the millionth claim, are remembered as unknown: the
// duplicate is still refused, but named only as "an earlier entry".
const (
	refNoLine = 1<<32 - 1
	maxNames  = 1 << 16
)

// NewTargets returns an empty Targets.
func NewTargets() *Targets {
	return &Targets{seed: maphash.MakeSeed(), ids: make(map[string]uint32)}
}

// Claim records that source writes path. If path, or its temporary twin
// (path+".part", or path without ".part" when it ends so), was claimed
// before, Claim records nothing and returns the earlier source and false.
// It is ClaimTarget for callers that only care about equal paths.
func (t *Targets) Claim(path, source string) (earlier string, ok bool) {
	if c := t.claim(path, source); c != nil {
		return c.Earlier, false
	}
	return "", true
}

// ClaimTarget records that source writes path, or returns a *Conflict when
// an earlier entry writes the same path (or its .part twin), writes a file
// where path needs a directory, or needs path itself as a directory.
func (t *Targets) ClaimTarget(path, source string) error {
	if c := t.claim(path, source); c != nil {
		return c
	}
	return nil
}

// Conflict is a target that an earlier entry's target rules out.
type Conflict struct {
	Path    string // the refused target
	Earlier string // the earlier entry's source
	Dir     string // for ConflictInsideFile: the earlier entry's file
	Kind    ConflictKind
}

// ConflictKind says how two targets collide.
type ConflictKind int

const (
	ConflictSame       ConflictKind = iota // the same file
	ConflictIsDir                          // the path is a directory of the earlier target
	ConflictInsideFile                     // a parent of the path is the earlier target
)

func (c *Conflict) Error() string {
	switch c.Kind {
	case ConflictIsDir:
		return fmt.Sprintf("%s is a directory holding the target of %s", c.Path, c.Earlier)
	case ConflictInsideFile:
		return fmt.Sprintf("%s would lie inside %s, the target of %s", c.Path, c.Dir, c.Earlier)
	}
	return fmt.Sprintf("%s is already the target of %s", c.Path, c.Earlier)
}

// Directories are recorded in the same table under their own hash domain,
// once each, so a file and a directory of the same name are caught before
// either is downloaded; a flat list costs one directory slot in all.
const dirDomain = "\x00dir\x00"

func (t *Targets) dirKey(d string) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(dirDomain)
	h.WriteString(d)
	return h.Sum64()
}

func (t *Targets) claim(path, source string) *Conflict {
	p := filepath.Clean(path)
	key := maphash.String(t.seed, p)
	var twin uint64
	if base, cut := strings.CutSuffix(p, ".part"); cut {
		twin = maphash.String(t.seed, base)
	} else {
		twin = maphash.String(t.seed, p+".part")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range [...]uint64{key, twin} {
		if idx, found := t.tab.get(k); found {
			return &Conflict{Path: path, Earlier: t.source(idx), Kind: ConflictSame}
		}
	}
	if idx, found := t.tab.get(t.dirKey(p)); found {
		return &Conflict{Path: path, Earlier: t.source(idx), Kind: ConflictIsDir}
	}
	// The parents this path needs as directories, up to the first one
	// already recorded (whose own parents were checked when it was).
	var newDirs []uint64
	for d := filepath.Dir(p); d != "." && d != "/" && d != p; d = filepath.Dir(d) {
		dk := t.dirKey(d)
		if _, found := t.tab.get(dk); found {
			break
		}
		if idx, found := t.tab.get(maphash.String(t.seed, d)); found {
			return &Conflict{Path: path, Earlier: t.source(idx), Dir: d, Kind: ConflictInsideFile}
		}
		newDirs = append(newDirs, dk)
	}
	idx := uint32(refIndexUnknown)
	if name, line, ok := t.split(source); ok && t.src.n < refIndexUnknown {
		idx = t.src.add(name, line)
	}
	t.tab.put(key, idx)
	for _, dk := range newDirs {
		t.tab.put(dk, idx)
	}
	return nil
}

// split interns the name part of a source "NAME:LINE".
func (t *Targets) split(source string) (name, line uint32, ok bool) {
	n, l := source, uint64(refNoLine)
	if i := strings.LastIndexByte(source, ':'); i >= 0 {
		v, err := strconv.ParseUint(source[i+1:], 10, 32)
		// Only a canonical number round-trips; "x:007" stays whole.
		if err == nil && v < refNoLine && strconv.FormatUint(v, 10) == source[i+1:] {
			n, l = source[:i], v
		}
	}
	id, known := t.ids[n]
	if !known {
		if len(t.names) >= maxNames {
			return 0, 0, false
		}
		id = uint32(len(t.names))
		t.names = append(t.names, n)
		t.ids[n] = id
	}
	return id, uint32(l), true
}

func (t *Targets) source(idx uint32) string {
	if idx >= refIndexUnknown || idx >= t.src.n {
		return "an earlier entry"
	}
	name, line := t.src.lookup(idx)
	if line == refNoLine {
		return t.names[name]
	}
	return t.names[name] + ":" + strconv.FormatUint(uint64(line), 10)
}
