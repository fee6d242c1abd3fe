package cmd

import (
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// IOStreams are the process's standard streams, injected so that nothing
// below cmd touches os.Stdout and tests can swap in buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// StderrTTY reports whether ErrOut is a terminal; TermWidth its width.
	StderrTTY bool
	TermWidth int
	widthFD   int // stderr's descriptor when it is a terminal (SystemStreams), else 0
	// SameDest reports whether Out and ErrOut reach the same place (one
	// terminal, one file, one pipe: 2>&1), where a failure copied to stderr
	// would be read twice.
	SameDest bool
	// Getenv reads the environment (NO_COLOR, TERM).
	Getenv func(string) string

	// onDeath, set while a run draws on the terminal, removes what it drew
	// from a process about to die of a second signal.
	onDeath atomic.Pointer[func()]
}

func (s *IOStreams) setOnDeath(f func()) {
	if f == nil {
		s.onDeath.Store(nil)
		return
	}
	s.onDeath.Store(&f)
}

func (s *IOStreams) abandon() {
	if f := s.onDeath.Load(); f != nil {
		(*f)()
	}
}

// WatchWidth calls set with the terminal's new width after each resize
// (SIGWINCH) until stop is called; a no-op but on a real terminal.
func (s *IOStreams) WatchWidth(set func(int)) (stop func()) {
	if !s.StderrTTY || s.widthFD <= 0 {
		return func() {}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				if w, _, err := term.GetSize(s.widthFD); err == nil {
					set(w)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// SystemStreams returns the real standard streams.
func SystemStreams() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Getenv: os.Getenv}
	fd := int(os.Stderr.Fd())
	if term.IsTerminal(fd) {
		s.StderrTTY, s.widthFD = true, fd
		if w, _, err := term.GetSize(fd); err == nil {
			s.TermWidth = w
		}
	}
	s.SameDest = sameFile(int(os.Stdout.Fd()), fd)
	return s
}

// sameFile reports whether two descriptors open the same file: a terminal
// is one device node, 2>&1 duplicates the descriptor, and both ends of a
// shell's `cmd 2>&1 | cat` are the one pipe inode. Two opens of one file
// (>log 2>>log) also match, and are read as one log.
func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// Color reports whether colour may be used on stderr.
func (s *IOStreams) Color() bool {
	if !s.StderrTTY || s.Getenv == nil {
		return s.StderrTTY && s.Getenv == nil
	}
	return s.Getenv("NO_COLOR") == "" && s.Getenv("TERM") != "dumb"
}
