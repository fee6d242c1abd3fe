package cmd

import (
	"context"

	"github.com/multiget/multiget/internal/engine"
)

// plan is --dry-run's stand-in for the engine: every entry that was read,
// validated and named gets a "planned" result with its target path, the
// others an "invalid" one. No request is made and no file is touched.
func plan(ctx context.Context, in <-chan []engine.Entry, obs engine.Observer) engine.Stats {
	var st engine.Stats
	for {
		var batch []engine.Entry
		var ok bool
		select {
		case batch, ok = <-in:
		case <-ctx.Done():
			st.Interrupted = true
			return st
		}
		if !ok {
			return st
		}
		for _, e := range batch {
			r := engine.Result{Source: e.Source, URL: e.AsWritten(), Path: e.Path, Status: engine.StatusPlanned}
			if e.Invalid != nil {
				r.Path, r.Status, r.Error = "", engine.StatusInvalid, e.Invalid.Error()
				st.Invalid++
			} else {
				st.OK++
			}
			obs.Result(r)
		}
	}
}
