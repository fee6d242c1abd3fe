package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/engine"
)

func TestHostLines(t *testing.T) {
	hosts := []engine.HostStats{
		{Host: "https://z:443", Peak: 16, Lowest: 4, ConnFails: 9, Timeouts: 1},
		{Host: "https://a:443", Peak: 40, Lowest: 5, Paused: 2 * time.Second, Throttles: map[int]int{429: 3}},
	}
	var out, errs bytes.Buffer
	r := New(Options{Out: &out, Err: &errs, JSON: true})
	r.Finish(Summary{OK: 1, Hosts: hosts})
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	want := []string{
		"multiget: host https://a:443 throttled: 40 -> 5 at once, paused 2.0s (3 x 429)",
		"multiget: host https://z:443 throttled: 16 -> 4 at once (9 connections refused or reset, 1 timeout)",
	}
	if len(lines) != 3 || lines[1] != want[0] || lines[2] != want[1] {
		t.Errorf("stderr:\n%s\nwant the summary, then\n%s", errs.String(), strings.Join(want, "\n"))
	}
	recs := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(recs) != 2 {
		t.Fatalf("stdout %q, want a record per host", out.String())
	}
	var h jsonHost
	if err := json.Unmarshal([]byte(recs[0]), &h); err != nil {
		t.Fatal(err)
	}
	if h != (jsonHost{Record: "host", Host: "https://a:443", Peak: 40, Lowest: 5, PausedMS: 2000, Status429: 3}) {
		t.Errorf("record %+v", h)
	}
}

func TestNoHostLinesWhenNoneThrottled(t *testing.T) {
	var out, errs bytes.Buffer
	r := New(Options{Out: &out, Err: &errs, JSON: true})
	r.Finish(Summary{OK: 1})
	if out.Len() != 0 || strings.Contains(errs.String(), "host") {
		t.Errorf("stdout %q stderr %q", out.String(), errs.String())
	}
}
