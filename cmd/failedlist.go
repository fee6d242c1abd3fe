package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/multiget/multiget/internal/engine"
	"github.com/multiget/multiget/internal/list"
	"github.com/multiget/multiget/internal/naming"
)

// failedList is --failed-list FILE: every entry that does not end ok,
// skipped or unchanged, written as a list that -i FILE reruns. It is
// written to a temporary file beside FILE as results arrive, so it holds
// nothing but the entries between reading and their result, and renamed
// over FILE at the end (a crash leaves the old FILE whole); with nothing
// to write, FILE is removed.
type failedList struct {
	path string
	tmp  *os.File
	w    *bufio.Writer

	mu      sync.Mutex
	pending map[string][]*failedEntry // by Source; two lists may share one
	n       int                       // entries written
	err     error                     // the first write error
}

// failedEntry is what a failed entry is written from.
type failedEntry struct {
	invalid bool
	// text is an invalid entry's lines as written ("" when they cannot
	// be had: a Metalink's <file>, a line over 1 MiB).
	text string
	// hide writes text commented out: run again, it would take the
	// target of another entry, or it spans lines that are not the list's.
	hide bool

	url       string // as written
	mirrors   []string
	out       string // "" when the URL names the file
	checksums []engine.Checksum
	size      string // size= as given, "" when none
}

const failedHeader = "# multiget --failed-list: the entries of a run that did not end ok; multiget -i FILE reruns them\n"

// openFailedList creates the temporary file, so that an unwritable FILE
// stops the run before any download. nil without --failed-list, and in a
// dry run, which writes nothing.
func openFailedList(o *Options) (*failedList, error) {
	if o.FailedList == "" || o.DryRun {
		return nil, nil
	}
	if fi, err := os.Stat(o.FailedList); err == nil && fi.IsDir() {
		return nil, &InputError{Err: fmt.Errorf("cannot write --failed-list %s: it is a directory: give a file name", o.FailedList)}
	}
	dir, base := filepath.Split(o.FailedList)
	if dir == "" {
		dir = "."
	}
	// Owner-only, as CreateTemp makes it: the URLs keep any password
	// they were written with, which the rerun needs.
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("cannot write --failed-list %s: %v", o.FailedList, unwrapPath(err))}
	}
	return &failedList{path: o.FailedList, tmp: tmp, w: bufio.NewWriter(tmp), pending: map[string][]*failedEntry{}}, nil
}

// add records an entry handed to the run (or found invalid), until its
// result says whether it is written.
func (fl *failedList) add(it list.Item, e engine.Entry) {
	if fl == nil {
		return
	}
	fe := &failedEntry{invalid: e.Invalid != nil}
	if fe.invalid {
		var c *naming.Conflict
		fe.text = it.Text
		fe.hide = errors.As(e.Invalid, &c) || strings.ContainsAny(it.Text, "\r\n") && strings.HasPrefix(it.Source, "arg:")
	} else {
		fe.url, fe.mirrors, fe.checksums, fe.size = it.URL, it.Mirrors, e.Checksums, it.Options["size"]
		if !e.NamedByURL {
			fe.out = it.Options["out"]
		}
	}
	fl.mu.Lock()
	fl.pending[it.Source] = append(fl.pending[it.Source], fe)
	fl.mu.Unlock()
}

// unread writes an entry the run stopped before reading.
func (fl *failedList) unread(it list.Item, e engine.Entry) {
	r := engine.NotStarted(e, "the run stopped before it was read")
	fl.add(it, e)
	fl.result(r)
}

// result writes the entry of r when it did not end well.
func (fl *failedList) result(r engine.Result) {
	if fl == nil {
		return
	}
	invalid := r.Status == engine.StatusInvalid
	fl.mu.Lock()
	defer fl.mu.Unlock()
	q := fl.pending[r.Source]
	i := 0
	for i < len(q) && q[i].invalid != invalid {
		i++
	}
	if i == len(q) {
		return
	}
	fe := q[i]
	if len(q) == 1 {
		delete(fl.pending, r.Source)
	} else {
		fl.pending[r.Source] = append(q[:i:i], q[i+1:]...)
	}
	switch r.Status {
	case engine.StatusOK, engine.StatusSkipped, engine.StatusUnchanged, engine.StatusPlanned:
		return
	}
	fl.write(r, fe)
}

func (fl *failedList) write(r engine.Result, fe *failedEntry) {
	var b strings.Builder
	if fl.n == 0 {
		b.WriteString(failedHeader)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "# %s: %s: %s\n", oneLine(r.Source), r.Status, oneLine(r.Error))
	switch {
	case fe.invalid && fe.text == "":
	case fe.invalid && fe.hide:
		b.WriteString("# " + strings.NewReplacer("\r", "\n# ", "\n", "\n# ").Replace(fe.text) + "\n")
	case fe.invalid:
		b.WriteString(fe.text + "\n")
	case strings.ContainsFunc(fe.out, isListBlank):
		fmt.Fprintf(&b, "# (not rerun: its name %q has a blank, which a list cannot hold; rerun it from its Metalink)\n", fe.out)
	default:
		b.WriteString(fe.url)
		if fe.out != "" {
			b.WriteString(" out=" + fe.out)
		}
		for _, c := range fe.checksums {
			b.WriteString(" " + c.Algo + "=" + c.Hex)
		}
		if fe.size != "" {
			b.WriteString(" size=" + fe.size)
		}
		for _, m := range fe.mirrors {
			b.WriteString(" mirror=" + m)
		}
		b.WriteString("\n")
	}
	fl.n++
	if _, err := fl.w.WriteString(b.String()); err != nil && fl.err == nil {
		fl.err = err
	}
}

// isListBlank is a character that separates fields in a list line.
func isListBlank(r rune) bool {
	switch r {
	case ' ', '\t', '\v', '\f', '\r', '\n':
		return true
	}
	return false
}

// oneLine keeps a comment on its line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// wrap passes every result of obs through the list first.
func (fl *failedList) wrap(obs engine.Observer) engine.Observer {
	if fl == nil {
		return obs
	}
	return failedObserver{obs, fl}
}

type failedObserver struct {
	engine.Observer
	fl *failedList
}

func (f failedObserver) Result(r engine.Result) {
	f.fl.result(r)
	f.Observer.Result(r)
}

// Attempt passes -v's lines on to a reporter that writes them.
func (f failedObserver) Attempt(a engine.Attempt) {
	if w, ok := f.Observer.(interface{ Attempt(engine.Attempt) }); ok {
		w.Attempt(a)
	}
}

// close puts the list in place, or removes FILE when nothing failed.
func (fl *failedList) close() error {
	if fl == nil {
		return nil
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	err := fl.err
	if err == nil {
		err = fl.w.Flush()
	}
	if err == nil && fl.n > 0 {
		err = fl.tmp.Sync()
	}
	if cerr := fl.tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
	case fl.n > 0:
		err = os.Rename(fl.tmp.Name(), fl.path)
	default:
		if rerr := os.Remove(fl.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	if err != nil || fl.n == 0 {
		os.Remove(fl.tmp.Name())
	}
	if err != nil {
		return fmt.Errorf("cannot write --failed-list %s: %v", fl.path, unwrapPath(err))
	}
	return nil
}
