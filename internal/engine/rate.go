package engine

// --total-rate: each running transfer's share of the total speed cap.

import curl "github.com/andelf/go-curl"

// libcurl caps the speed of single transfers only (CURLOPT_MAX_RECV_SPEED_
// LARGE). TotalRate is built on it: each running transfer gets an equal
// share, TotalRate / running, re-set whenever that share changes. libcurl
// reads the option on every pass over a running transfer, so a new value
// takes effect at once. A share that a slow transfer leaves unused is not
// handed to the others: the total is a ceiling, not a target.

// rateState remembers the cap last set on each running transfer, so a
// handle is touched only when its share changes.
type rateState struct {
	applied map[uintptr]int64
}

// shareRates gives every running transfer its share of TotalRate (never
// more than LimitRate). The loop calls it before each wait, after transfers
// have been added and removed.
func (e *engine) shareRates() {
	if e.cfg.TotalRate <= 0 {
		return
	}
	if e.rate.applied == nil {
		e.rate.applied = make(map[uintptr]int64)
	}
	if len(e.active) == 0 {
		clear(e.rate.applied)
		return
	}
	share := max(e.cfg.TotalRate/int64(len(e.active)), 1)
	if e.cfg.LimitRate > 0 && e.cfg.LimitRate < share {
		share = e.cfg.LimitRate
	}
	for key, t := range e.active {
		if e.rate.applied[key] == share {
			continue
		}
		// OFF_T option: int, never int64 (go-curl panics on it).
		if t.easy.Setopt(curl.OPT_MAX_RECV_SPEED_LARGE, int(share)) == nil {
			e.rate.applied[key] = share
		}
	}
	if len(e.rate.applied) > len(e.active) {
		for key := range e.rate.applied {
			if _, ok := e.active[key]; !ok {
				delete(e.rate.applied, key)
			}
		}
	}
}
