package engine

import (
	"fmt"
	"strings"
	"sync"
)

// Tuning switches optimizations off one by one, for measuring what each
// is worth and for working around a platform where one misbehaves; the
// files written are the same either way. The zero value has all on.
type Tuning struct {
	NoUnnamed  bool // every file is NAME.part renamed to NAME (linker.c)
	NoHandover bool // the linker never writes a body itself (linker.c)
	// NoEarlyMux: a host is known to multiplex only from its first
	// response, not from two transfers given one connection (conns.go).
	NoEarlyMux bool
	// NoStreamProbe: without --streams a connection carries 100 streams,
	// not what its server allows (mux.go).
	NoStreamProbe bool
	// NoRamp: no first wave of two to an https host, no probes or
	// openers deciding a multiplexing host's connections (mux.go): before
	// libcurl 8.0 such a host keeps to one connection, on 8.x PIPEWAIT
	// decides.
	NoRamp bool
	// NoSmallBuffers: every transfer but one under a speed cap gets a
	// 512 KiB receive buffer, even from a host sending small files
	// (bufsize.go; libcurl before 8.7 only).
	NoSmallBuffers bool
	// NoBigBuffers: a whole file started while few transfers run gets
	// the 512 KiB receive buffer, not 2 MiB (bufsize.go).
	NoBigBuffers bool
}

// tuningSwitch is one of ParseTuning's words and the field it sets.
type tuningSwitch struct {
	word string
	off  *bool
}

// switches are t's, in the order the docs list them.
func (t *Tuning) switches() []tuningSwitch {
	return []tuningSwitch{
		{"unnamed", &t.NoUnnamed}, {"handover", &t.NoHandover},
		{"earlymux", &t.NoEarlyMux}, {"streamprobe", &t.NoStreamProbe}, {"ramp", &t.NoRamp},
		{"smallbuf", &t.NoSmallBuffers}, {"bigbuf", &t.NoBigBuffers},
	}
}

// tuningWords are ParseTuning's words, in the order the docs list them.
func tuningWords() []string {
	var words []string
	for _, x := range new(Tuning).switches() {
		words = append(words, x.word)
	}
	return words
}

// ParseTuning reads a comma-separated list of the optimizations to turn
// off: "unnamed,handover", "all", or "" (none).
func ParseTuning(s string) (Tuning, error) {
	var t Tuning
	sw := t.switches()
	for _, w := range strings.Split(s, ",") {
		word := strings.ToLower(strings.TrimSpace(w))
		found := word == "" || word == "all"
		for _, x := range sw {
			if word == x.word || word == "all" {
				*x.off, found = true, true
			}
		}
		if !found {
			return Tuning{}, fmt.Errorf("unknown word %q; the valid ones are all, %s", strings.TrimSpace(w), strings.Join(tuningWords(), ", "))
		}
	}
	return t, nil
}

// The C side's state is the process's (the linker's thread and queue,
// the cached output directory, the switches): one Run at a time.
var runMu sync.Mutex

// beginRun waits for any other Run of the process to end, then sets the C
// side's switches for this one; the function it returns ends the run.
func beginRun(t Tuning) (end func()) {
	runMu.Lock()
	applyTuning(t)
	return runMu.Unlock
}
