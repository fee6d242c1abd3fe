package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Checking a run's output: every file the workload expects, byte for byte.

// verify checks that outDir holds exactly the expected files and that each
// is byte for byte the corpus file it came from.
func verify(www, outDir string, expect []pair) error {
	const workers = 4
	var (
		mu       sync.Mutex
		bad      int
		firstBad string
		wg       sync.WaitGroup
	)
	ch := make(chan pair, 256)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				if err := sameFile(filepath.Join(outDir, p.out), filepath.Join(www, p.src)); err != nil {
					mu.Lock()
					if bad == 0 {
						firstBad = err.Error()
					}
					bad++
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range expect {
		ch <- p
	}
	close(ch)
	wg.Wait()
	if bad > 0 {
		return fmt.Errorf("%d of %d files wrong, e.g. %s", bad, len(expect), firstBad)
	}
	n, extra := 0, ""
	err := filepath.WalkDir(outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
			if extra == "" {
				extra, _ = filepath.Rel(outDir, path)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(expect) {
		return fmt.Errorf("%d files in the output dir, want %d (e.g. %s)", n, len(expect), extra)
	}
	return nil
}

func sameFile(got, want string) error {
	g, err := os.Open(got)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s missing", filepath.Base(got))
		}
		return err
	}
	defer g.Close()
	w, err := os.Open(want)
	if err != nil {
		return err
	}
	defer w.Close()
	gi, err := g.Stat()
	if err != nil {
		return err
	}
	wi, err := w.Stat()
	if err != nil {
		return err
	}
	if !gi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", filepath.Base(got))
	}
	if gi.Size() != wi.Size() {
		return fmt.Errorf("%s has %d bytes, want %d", filepath.Base(got), gi.Size(), wi.Size())
	}
	bufG, bufW := make([]byte, 256*kib), make([]byte, 256*kib)
	for off := int64(0); ; {
		ng, errG := io.ReadFull(g, bufG)
		nw, errW := io.ReadFull(w, bufW)
		if ng != nw || !bytes.Equal(bufG[:ng], bufW[:nw]) {
			return fmt.Errorf("%s differs from the corpus near byte %d", filepath.Base(got), off)
		}
		off += int64(ng)
		endG := errG == io.EOF || errors.Is(errG, io.ErrUnexpectedEOF)
		endW := errW == io.EOF || errors.Is(errW, io.ErrUnexpectedEOF)
		if endG && endW {
			return nil
		}
		if errG != nil && !endG {
			return errG
		}
		if errW != nil && !endW {
			return errW
		}
		if endG != endW {
			return fmt.Errorf("%s differs in length from the corpus", filepath.Base(got))
		}
	}
}
