package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/multiget/multiget/internal/list"
	"github.com/multiget/multiget/internal/metalink"
)

// source is one list to read: an opened file, stdin, or the URL arguments.
type source struct {
	name string
	r    io.Reader
	c    io.Closer
	meta bool // a Metalink document, not a list
}

func closeInputs(srcs []source) {
	for _, s := range srcs {
		if s.c != nil {
			s.c.Close()
		}
	}
}

// isMetalink says whether -i FILE names a Metalink by its extension: .meta4
// is RFC 5854's, .metalink the name many tools give it.
func isMetalink(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".meta4" || ext == ".metalink"
}

// openInputs opens every list before anything is downloaded, so an
// unreadable list stops the run at once with exit 2. A Metalink file is
// read through once here, so that one that is not well-formed stops the run
// before any download too (stdin cannot be read twice).
func openInputs(o *Options, stdin io.Reader) ([]source, error) {
	var srcs []source
	fail := func(err error) ([]source, error) {
		closeInputs(srcs)
		return nil, &InputError{Err: err}
	}
	names := append(append([]string{}, o.Inputs...), o.Metalinks...)
	for i, name := range names {
		meta := i >= len(o.Inputs) || name != "-" && isMetalink(name)
		if name == "-" {
			srcs = append(srcs, source{name: "-", r: stdin, meta: meta})
			continue
		}
		f, err := os.Open(name)
		var fi os.FileInfo
		if err == nil {
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				err = errors.New("is a directory")
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			return fail(fmt.Errorf("cannot read %s %s: %v", kindName(meta), name, unwrapPath(err)))
		}
		srcs = append(srcs, source{name: name, r: f, c: f, meta: meta})
		if meta && fi.Mode().IsRegular() {
			_, err := metalink.Count(f)
			if err == nil {
				_, err = f.Seek(0, io.SeekStart)
			}
			if err != nil {
				return fail(metalinkError(name, err))
			}
		}
	}
	return srcs, nil
}

func kindName(meta bool) string {
	if meta {
		return "metalink"
	}
	return "list"
}

// metalinkError names the file and line of a Metalink that cannot be read.
func metalinkError(name string, err error) error {
	var me *metalink.Error
	if errors.As(err, &me) {
		return fmt.Errorf("cannot read metalink %s:%d: %s", name, me.Line, me.Msg)
	}
	return fmt.Errorf("cannot read metalink %s: %v", name, unwrapPath(err))
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
		count := list.Count
		if s.meta {
			count = metalink.Count
		}
		c, err := count(f)
		f.Close()
		if err != nil {
			return 0, false
		}
		n += c
	}
	return n, true
}
