package testserver

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// The body generator is counter based (splitmix64 over the 8-byte block
// index) rather than a sequential xorshift stream, so that a range starting
// at any offset can be produced without generating everything before it.
// That keeps multi-gigabyte range requests cheap and lets the server stream
// bodies without ever holding them in memory.

const golden = 0x9e3779b97f4a7c15

func seedFor(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// block returns the 8 bytes of content block idx for seed.
func block(seed, idx uint64) uint64 {
	z := seed + (idx+1)*golden
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the content bytes [off, off+len(p)) for seed into p.
func fill(seed uint64, off int64, p []byte) {
	var b [8]byte
	for i := 0; i < len(p); {
		pos := off + int64(i)
		idx := uint64(pos / 8)
		binary.LittleEndian.PutUint64(b[:], block(seed, idx))
		i += copy(p[i:], b[pos%8:])
	}
}

// Content returns the deterministic body that every data route serves for
// NAME and SIZE. It depends only on its arguments, and a shorter body is a
// prefix of a longer one for the same name.
func Content(name string, size int) []byte {
	if size < 0 {
		size = 0
	}
	p := make([]byte, size)
	fill(seedFor(name), 0, p)
	return p
}

// versionName is the content name of version v; version 0 is the plain
// name so the static routes and Content agree.
func versionName(name string, v int) string {
	if v == 0 {
		return name
	}
	return name + "-v" + strconv.Itoa(v)
}

// ContentVersion returns the body /changing/ and /changing-rst/ serve for
// NAME at version v (v is the per-name hit number, starting at 1). It is
// Content(NAME+"-v"+v, SIZE); version 0 is Content(NAME, SIZE).
func ContentVersion(name string, size, v int) []byte {
	return Content(versionName(name, v), size)
}

// ETag returns the strong entity tag (quotes included) the server sends for
// NAME of SIZE at version v (0 for every route except /changing/ and
// /changing-rst/). It is a hash so odd names cannot break the header syntax.
func ETag(name string, size, v int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d", name, size, v)
	return fmt.Sprintf("\"%016x\"", h.Sum64())
}

// baseModified is a fixed past instant, so Last-Modified is stable across
// runs and always older than the Date header.
var baseModified = time.Date(2024, time.January, 2, 3, 4, 5, 0, time.UTC)

// LastModified returns the Last-Modified time of version v: a fixed instant
// plus v hours, so each version has a distinct HTTP-date.
func LastModified(v int) time.Time {
	return baseModified.Add(time.Duration(v) * time.Hour)
}
