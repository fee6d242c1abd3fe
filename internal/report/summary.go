package report

import "encoding/json"

// jsonSummary is the --json-summary record, the last line of stdout: what
// a CI step reads to know the outcome without counting lines.
type jsonSummary struct {
	Record      string `json:"record"` // always "summary"
	OK          int    `json:"ok"`
	Failed      int    `json:"failed"`
	Skipped     int    `json:"skipped"`
	Unchanged   int    `json:"unchanged"`
	Invalid     int    `json:"invalid"`
	Interrupted int    `json:"interrupted"`
	Planned     int    `json:"planned"`
	// NotStarted counts the list entries never read; null when unknown
	// (the rest of stdin was not read).
	NotStarted *int   `json:"not_started"`
	Bytes      int64  `json:"bytes"`
	DurationMS int64  `json:"duration_ms"`
	ExitCode   int    `json:"exit_code"`
	Stopped    string `json:"stopped"` // why the run stopped early; "" when it did not
}

func toJSONSummary(s Summary) jsonSummary {
	j := jsonSummary{
		Record: "summary", OK: s.OK, Failed: s.Failed, Skipped: s.Skipped, Unchanged: s.Unchanged,
		Invalid: s.Invalid, Interrupted: s.Unfinished, Bytes: s.Bytes, DurationMS: s.Elapsed.Milliseconds(), ExitCode: s.ExitCode,
	}
	if s.DryRun {
		j.OK, j.Planned = 0, s.OK
	}
	switch {
	case s.NotStarted >= 0:
		n := s.NotStarted
		j.NotStarted = &n
	case !s.Interrupted && !s.FailFast && s.Stopped == "":
		zero := 0 // a run that went to the end started every entry
		j.NotStarted = &zero
	}
	switch {
	case s.Stopped != "":
		j.Stopped = s.Stopped
	case s.FailFast:
		j.Stopped = "--fail-fast"
	case s.Interrupted:
		j.Stopped = "interrupted"
	}
	return j
}

// writeSummary writes the summary record on Out. Callers hold r.mu.
func (r *Reporter) writeSummary(s Summary) {
	b, err := json.Marshal(toJSONSummary(s))
	if err != nil {
		return
	}
	r.write(r.o.Out, string(b)+"\n")
}
