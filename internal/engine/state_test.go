package engine

import (
	"strings"
	"testing"
)

func TestStateTransitions(t *testing.T) {
	for from := stQueued; from <= stDone; from++ {
		for to := stQueued; to <= stDone; to++ {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				heard := hearIllegal(t)
				e := &engine{}
				j := &job{entry: Entry{Source: "x:1"}, state: from}
				e.setState(j, to)
				if j.state != to {
					t.Errorf("state %s, want %s", j.state, to)
				}
				if legalTransition(from, to) {
					if *heard != "" || e.illegal != "" {
						t.Errorf("legal transition reported: %q", e.illegal)
					}
					return
				}
				if !strings.Contains(e.illegal, "illegal transition "+from.String()+" -> "+to.String()) || (*heard != "" && *heard != e.illegal) {
					t.Errorf("illegal transition not reported: heard %q, recorded %q", *heard, e.illegal)
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
