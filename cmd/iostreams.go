package cmd

import (
	"io"
	"os"

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
	// Getenv reads the environment (NO_COLOR, TERM).
	Getenv func(string) string
}

// SystemStreams returns the real standard streams.
func SystemStreams() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Getenv: os.Getenv}
	fd := int(os.Stderr.Fd())
	if term.IsTerminal(fd) {
		s.StderrTTY = true
		if w, _, err := term.GetSize(fd); err == nil {
			s.TermWidth = w
		}
	}
	return s
}

// Color reports whether colour may be used on stderr.
func (s *IOStreams) Color() bool {
	if !s.StderrTTY || s.Getenv == nil {
		return s.StderrTTY && s.Getenv == nil
	}
	return s.Getenv("NO_COLOR") == "" && s.Getenv("TERM") != "dumb"
}
