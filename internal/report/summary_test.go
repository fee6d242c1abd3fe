package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestJSONSummaryRecord(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
		want string
	}{
		{"a run to the end", Summary{OK: 3, Failed: 1, Bytes: 42, Elapsed: 1500 * time.Millisecond, NotStarted: -1, ExitCode: 1},
			`{"record":"summary","ok":3,"failed":1,"skipped":0,"unchanged":0,"invalid":0,"interrupted":0,"planned":0,"not_started":0,"bytes":42,"duration_ms":1500,"exit_code":1,"stopped":""}`},
		{"interrupted with the rest of stdin unread", Summary{OK: 1, Unfinished: 2, Interrupted: true, NotStarted: -1, ExitCode: 130},
			`{"record":"summary","ok":1,"failed":0,"skipped":0,"unchanged":0,"invalid":0,"interrupted":2,"planned":0,"not_started":null,"bytes":0,"duration_ms":0,"exit_code":130,"stopped":"interrupted"}`},
		{"fail-fast with entries never read", Summary{Failed: 1, Unfinished: 1, FailFast: true, NotStarted: 5, ExitCode: 1},
			`{"record":"summary","ok":0,"failed":1,"skipped":0,"unchanged":0,"invalid":0,"interrupted":1,"planned":0,"not_started":5,"bytes":0,"duration_ms":0,"exit_code":1,"stopped":"--fail-fast"}`},
		{"a closed stdout", Summary{OK: 2, Stopped: "results cannot be written to stdout", NotStarted: -1, ExitCode: 1},
			`{"record":"summary","ok":2,"failed":0,"skipped":0,"unchanged":0,"invalid":0,"interrupted":0,"planned":0,"not_started":null,"bytes":0,"duration_ms":0,"exit_code":1,"stopped":"results cannot be written to stdout"}`},
		{"a dry run", Summary{OK: 4, Invalid: 1, DryRun: true, NotStarted: -1, ExitCode: 1},
			`{"record":"summary","ok":0,"failed":0,"skipped":0,"unchanged":0,"invalid":1,"interrupted":0,"planned":4,"not_started":0,"bytes":0,"duration_ms":0,"exit_code":1,"stopped":""}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			r := New(Options{Out: &out, Err: &errb, JSON: true, JSONSummary: true})
			r.Finish(tc.s)
			if got := out.String(); got != tc.want+"\n" {
				t.Errorf("stdout\n %s\nwant\n %s", got, tc.want)
			}
			if !strings.HasPrefix(errb.String(), "multiget: ") {
				t.Errorf("no summary on stderr: %q", errb.String())
			}
		})
	}
}
