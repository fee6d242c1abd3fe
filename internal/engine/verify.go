package engine

// Checksums of finished files, read back off the loop's goroutine.

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// NewHash returns the hash for a checksum algorithm name, nil if unknown.
func NewHash(algo string) hash.Hash {
	switch algo {
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	case "sha1":
		return sha1.New()
	case "md5":
		return md5.New()
	}
	return nil
}

// ChecksumError is a finished file whose digest is not the one expected.
type ChecksumError struct{ Algo, Got, Want string }

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s mismatch: got %s, want %s", e.Algo, e.Got, e.Want)
}

type verifyResult struct {
	job      *job
	target   string
	sums     map[string]string // verified algo -> hex
	err      error
	existing bool // the file checked is a finished NAME a -c rerun found (rerun.go)
}

// verify hashes the finished NAME.part in one read and compares every
// expected checksum. It runs on its own goroutine so that hashing a large
// file never stalls the transfers still running.
func verify(j *job, target string, done chan<- verifyResult) {
	res := verifyResult{job: j, target: target}
	defer func() { done <- res }()
	hashFile(j, j.entry.Path+PartSuffix, &res)
}

// hashFile compares every checksum of j's entry with the file at path.
func hashFile(j *job, part string, res *verifyResult) {
	f, err := os.Open(part)
	if err != nil {
		res.err = &DiskError{Op: "read back", Path: part, Err: err}
		return
	}
	defer f.Close()
	hs := make([]hash.Hash, len(j.entry.Checksums))
	ws := make([]io.Writer, len(hs))
	for i, c := range j.entry.Checksums {
		hs[i] = NewHash(c.Algo)
		if hs[i] == nil {
			res.err = fmt.Errorf("unknown checksum algorithm %q", c.Algo)
			return
		}
		ws[i] = hs[i]
	}
	if _, err := io.CopyBuffer(io.MultiWriter(ws...), f, make([]byte, 1<<20)); err != nil {
		res.err = &DiskError{Op: "read back", Path: part, Err: err}
		return
	}
	res.sums = make(map[string]string, len(hs))
	for i, c := range j.entry.Checksums {
		got := hex.EncodeToString(hs[i].Sum(nil))
		if got != c.Hex {
			res.sums = nil
			res.err = &ChecksumError{Algo: c.Algo, Got: got, Want: c.Hex}
			return
		}
		res.sums[c.Algo] = got
	}
}

// SizeError is a finished file of another size than its entry says.
type SizeError struct{ Got, Want int64 }

func (e *SizeError) Error() string {
	return fmt.Sprintf("size mismatch: got %d bytes, want %d (size=)", e.Got, e.Want)
}

// checkSize compares the finished body of j with the size its entry
// gives, if any.
func (e *engine) checkSize(j *job) error {
	if !j.entry.SizeKnown {
		return nil
	}
	var n int64
	switch j.out.kind {
	case outBody:
		n = j.out.n
	case outTmpfile:
		var st unix.Stat_t
		if unix.Fstat(j.out.fd, &st) != nil {
			return nil
		}
		n = st.Size
	default:
		fi, err := os.Lstat(j.entry.Path + PartSuffix)
		if err != nil {
			return nil // the rename reports it
		}
		n = fi.Size()
	}
	if n != j.entry.Size {
		return &SizeError{Got: n, Want: j.entry.Size}
	}
	return nil
}
