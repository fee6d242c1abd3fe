package engine

import (
	"strings"
	"testing"
)

// Every test of this package fails on an illegal job state transition.
func init() { onIllegal = func(msg string) { panic("engine: " + msg) } }

func TestStateTransitions(t *testing.T) {
	for from := stQueued; from <= stDone; from++ {
		for to := stQueued; to <= stDone; to++ {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				hook := onIllegal
				var heard string
				onIllegal = func(msg string) { heard = msg }
				defer func() { onIllegal = hook }()
				e := &engine{}
				j := &job{entry: Entry{Source: "x:1"}, state: from}
				e.setState(j, to)
				if j.state != to {
					t.Errorf("state %s, want %s", j.state, to)
				}
				if legalTransition(from, to) {
					if heard != "" || e.illegal != "" {
						t.Errorf("legal transition reported: %q", heard)
					}
					return
				}
				if !strings.Contains(heard, "illegal transition "+from.String()+" -> "+to.String()) || e.illegal != heard {
					t.Errorf("illegal transition not reported: heard %q, recorded %q", heard, e.illegal)
				}
			})
		}
	}
}

func TestNothingLeavesDone(t *testing.T) {
	for to := stQueued; to <= stDone; to++ {
		if legalTransition(stDone, to) {
			t.Errorf("done -> %s is legal", to)
		}
	}
	for from := stQueued; from < stDone; from++ {
		if !legalTransition(from, stDone) {
			t.Errorf("%s cannot end", from)
		}
	}
}
