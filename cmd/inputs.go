package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/multiget/multiget/internal/list"
)

// source is one list to read: an opened file, stdin, or the URL arguments.
type source struct {
	name string
	r    io.Reader
	c    io.Closer
}

func closeInputs(srcs []source) {
	for _, s := range srcs {
		if s.c != nil {
			s.c.Close()
		}
	}
}

// openInputs opens every list before anything is downloaded, so an
// unreadable list stops the run at once with exit 2.
func openInputs(o *Options, stdin io.Reader) ([]source, error) {
	var srcs []source
	for _, name := range o.Inputs {
		if name == "-" {
			srcs = append(srcs, source{name: "-", r: stdin})
			continue
		}
		f, err := os.Open(name)
		if err == nil {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				err = errors.New("is a directory")
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			closeInputs(srcs)
			return nil, &InputError{Err: fmt.Errorf("cannot read list %s: %v", name, unwrapPath(err))}
		}
		srcs = append(srcs, source{name: name, r: f, c: f})
	}
	return srcs, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// countEntries counts the entries of the URL arguments and every list, or
// reports false when a list cannot be read.
func countEntries(o *Options, srcs []source) (int, bool) {
	n := len(o.URLs)
	for _, s := range srcs {
		f, err := os.Open(s.name)
		if err != nil {
			return 0, false
		}
		c, err := list.Count(f)
		f.Close()
		if err != nil {
			return 0, false
		}
		n += c
	}
	return n, true
}
