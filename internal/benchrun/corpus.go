package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// sizes are the workload dimensions; --quick shrinks them.
type sizes struct {
	smallN    int   // workloads 1 and 2: files of smallSize bytes
	smallSize int   //
	tinyN     int   // workload 3 (and the server files of 6): 1-byte files
	bigN      int   // workload 4: files of bigSize bytes
	bigSize   int64 //
	slowSize  int64 // workload 5: one file from the throttled location
	listSmall int   // workload 6: the reference list length
	listLarge int   // workload 6: the list length under test
	parallel  int   // transfers at once in workloads 1, 2, 3 and 6

	linkSmallN int // link group: files of smallSize bytes (its large file is big/b0, bigSize)
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

func sizesFor(quick bool) sizes {
	if quick {
		return sizes{
			smallN: 2000, smallSize: 8 * kib,
			tinyN: 5000,
			bigN:  4, bigSize: 64 * mib,
			slowSize:  64 * mib,
			listSmall: 5000, listLarge: 50000,
			parallel:   16,
			linkSmallN: 100,
		}
	}
	return sizes{
		smallN: 2000, smallSize: 8 * kib,
		tinyN: 20000,
		bigN:  4, bigSize: 256 * mib,
		slowSize:  256 * mib,
		listSmall: 20000, listLarge: 200000,
		parallel:   16,
		linkSmallN: 500,
	}
}

// Corpus layout under the document root; scripts/bench's nginx serves
// /slow/NAME from slow/ with limit_rate.
func smallPath(i int) string { return fmt.Sprintf("small/s%05d.bin", i) }
func tinyPath(i int) string  { return fmt.Sprintf("tiny/t%05d.bin", i) }
func bigPath(i int) string   { return fmt.Sprintf("big/b%d.bin", i) }

const slowName = "one.bin"

func slowPath() string { return "slow/" + slowName }

// writeCorpus fills www with pseudo-random (incompressible, reproducible)
// files for the selected workloads. The link group fetches the first
// linkSmallN small files (workload 19 twice as many) and big/b0.
func writeCorpus(www string, sz sizes, want map[int]bool) error {
	rng := rand.NewChaCha8([32]byte{'m', 'u', 'l', 't', 'i', 'g', 'e', 't'})
	for _, d := range []string{"small", "tiny", "big", "slow"} {
		if err := os.MkdirAll(filepath.Join(www, d), 0o755); err != nil {
			return err
		}
	}
	nSmall, nBig, link := 0, 0, false
	if want[1] || want[2] {
		nSmall = sz.smallN
	}
	if want[4] {
		nBig = sz.bigN
	}
	for id := range want {
		s, ok := linkSpecFor(id)
		if !ok {
			continue
		}
		link = true
		switch {
		case s.large:
			nBig = max(nBig, 1)
		case s.two:
			nSmall = max(nSmall, 2*sz.linkSmallN)
		default:
			nSmall = max(nSmall, sz.linkSmallN)
		}
	}
	if link {
		if err := os.WriteFile(filepath.Join(www, linkProbePath), []byte("x"), 0o644); err != nil {
			return err
		}
	}
	if nSmall > 0 {
		buf := make([]byte, sz.smallSize)
		for i := 0; i < nSmall; i++ {
			_, _ = rng.Read(buf)
			if err := os.WriteFile(filepath.Join(www, smallPath(i)), buf, 0o644); err != nil {
				return err
			}
		}
	}
	if want[3] || want[6] {
		buf := make([]byte, 1)
		for i := 0; i < sz.tinyN; i++ {
			_, _ = rng.Read(buf)
			if err := os.WriteFile(filepath.Join(www, tinyPath(i)), buf, 0o644); err != nil {
				return err
			}
		}
	}
	for i := 0; i < nBig; i++ {
		if err := writeRandom(filepath.Join(www, bigPath(i)), sz.bigSize, rng); err != nil {
			return err
		}
	}
	if want[5] {
		dst := filepath.Join(www, slowPath())
		// Same size as a workload-4 file: share its data (saves memory on
		// the tmpfs) through a hard link.
		if nBig > 0 && sz.slowSize == sz.bigSize && os.Link(filepath.Join(www, bigPath(0)), dst) == nil {
			return nil
		}
		return writeRandom(dst, sz.slowSize, rng)
	}
	return nil
}

func writeRandom(path string, size int64, rng *rand.ChaCha8) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, mib)
	for left := size; left > 0; {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		_, _ = rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}
