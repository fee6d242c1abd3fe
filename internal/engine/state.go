package engine

// The life of a job: an explicit state, the transitions it may take, and
// the small records that replaced the booleans once kept on job.

import "fmt"

// jobState is where a job is in its life.
//
//	from \ to    waitHost running backoff split verifying linking done
//	queued          x        x               x       x            x
//	waitHost                 x               x                    x
//	running                          x       x       x        x   x
//	backoff                  x               x                    x
//	split                            x               x            x
//	verifying       x        x       x                        x   x
//	linking                          x                            x
//	done
//
// queued: taken from the input. waitHost: its host has no room (sched's
// waiting). running: a transfer of the whole file (the probe of a split
// included). backoff: waiting for a retry's due time (sched's retries; a
// restart due at once waits there too). split: ranges run or wait
// (sched's splits; a -c resume of recorded ranges starts here). verifying:
// checksums are read on a goroutine (also of a saved file a -c rerun
// found, which goes to be fetched when they do not match: rerun.go; or a
// file that did not match, which goes to the next mirror: backoff).
// linking: the linker names its unnamed file (and may find no descriptor:
// backoff). done: the one Result is out.
type jobState uint8

const (
	stQueued jobState = iota
	stWaitHost
	stRunning
	stBackoff
	stSplit
	stVerifying
	stLinking
	stDone
)

var stateNames = [...]string{"queued", "waitHost", "running", "backoff", "split", "verifying", "linking", "done"}

func (s jobState) String() string { return stateNames[s] }

// legal is the transition table above.
var legal = [...][]jobState{
	stQueued:    {stWaitHost, stRunning, stSplit, stVerifying, stDone},
	stWaitHost:  {stRunning, stSplit, stDone},
	stRunning:   {stBackoff, stSplit, stVerifying, stLinking, stDone},
	stBackoff:   {stRunning, stSplit, stDone},
	stSplit:     {stBackoff, stVerifying, stDone},
	stVerifying: {stWaitHost, stRunning, stBackoff, stLinking, stDone},
	stLinking:   {stBackoff, stDone},
	stDone:      nil,
}

func legalTransition(from, to jobState) bool {
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}

// setState moves j to s. An illegal move is a bug of the engine: the first
// is kept in e.illegal, and tests fail on it.
func (e *engine) setState(j *job, s jobState) {
	if !legalTransition(j.state, s) {
		msg := fmt.Sprintf("%s: illegal transition %s -> %s", j.entry.Source, j.state, s)
		if e.illegal == "" {
			e.illegal = msg
		}
		heardIllegal(msg)
	}
	j.state = s
}

// retryBudget is what an entry spent of --retry: its attempts, those that
// only waited for descriptors (not counted, up to maxFDWaits), and the one
// restart from byte 0 granted outside the budget.
type retryBudget struct {
	attempts    int // transfers tried, each range of a split download one
	rounds      int // starts of the entry: a split download is one, whatever its ranges
	fdWaits     int
	switches    int // attempts that moved to another mirror, outside --retry
	freeRestart bool
	unsplit     bool // the start that found the server ignores ranges spent no retry
}

// splitChoice is what became of splitting the entry into ranges.
type splitChoice uint8

const (
	splitMaybe splitChoice = iota // the next probe's response decides
	splitNo                       // decided against (or the server ignores ranges)
	splitYes                      // ranges exist (j.segs)
)
