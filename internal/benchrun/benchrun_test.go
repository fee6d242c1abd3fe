package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTime(t *testing.T) {
	wall, rss, err := parseTime([]byte("Command exited with non-zero status 1\n1.25 20480\n"))
	if err != nil || wall != 1.25 || rss != 20480 {
		t.Fatalf("got %v %v %v", wall, rss, err)
	}
	if _, _, err := parseTime([]byte("garbage")); err == nil {
		t.Fatal("no error for garbage")
	}
}

func TestVerify(t *testing.T) {
	www, out := t.TempDir(), t.TempDir()
	write := func(dir, name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(www, "tiny/a", "x")
	write(www, "big/b", strings.Repeat("0123456789", 100000))
	expect := []pair{{"a", "tiny/a"}, {"d/1", "tiny/a"}, {"b", "big/b"}}

	write(out, "a", "x")
	write(out, "d/1", "x")
	write(out, "b", strings.Repeat("0123456789", 100000))
	if err := verify(www, out, expect); err != nil {
		t.Fatalf("identical files: %v", err)
	}

	write(out, "stray.part", "")
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "files in the output dir") {
		t.Fatalf("extra file: %v", err)
	}
	os.Remove(filepath.Join(out, "stray.part"))

	write(out, "b", strings.Repeat("0123456789", 99999)+"012345678X")
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("changed last byte: %v", err)
	}
	write(out, "b", "short")
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "bytes, want") {
		t.Fatalf("short file: %v", err)
	}
	os.Remove(filepath.Join(out, "b"))
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	j := &job{runs: []result{
		{status: "ok", wall: 3, rssKB: 100},
		{status: "ok", wall: 1, rssKB: 300},
		{status: "FAILED", why: "boom"},
		{status: "ok", wall: 2, rssKB: 200},
		{status: "ok", wall: 4, rssKB: 50},
		{status: "TIMEOUT"},
	}}
	s := summarize(j)
	if s.ok != 4 || s.median != 2.5 || s.min != 1 || s.max != 4 || s.peakKB != 300 || s.failed != 1 || s.timeout != 1 || s.why != "boom" {
		t.Fatalf("got %+v", s)
	}
}

func TestFlags(t *testing.T) {
	var sb strings.Builder
	c, err := parseFlags([]string{"--quick", "--workloads", "1,3", "--tools", "curl"}, &sb)
	if err != nil || !c.quick || c.runs != 2 || !c.workloads[3] || c.workloads[2] || !c.wantTool("curl") || c.wantTool("wget2") {
		t.Fatalf("got %+v %v", c, err)
	}
	for _, bad := range [][]string{{"--workloads", "7"}, {"--tools", "wget"}, {"--runs", "-1"}, {"extra"}} {
		if _, err := parseFlags(bad, &sb); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{1: "1", 999: "999", 2000: "2,000", 200000: "200,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRotateTurnsTheOrder(t *testing.T) {
	a, b, c := &job{tool: "a"}, &job{tool: "b"}, &job{tool: "c"}
	js := []*job{a, b, c}
	names := func(js []*job) string {
		s := ""
		for _, j := range js {
			s += j.tool
		}
		return s
	}
	for k, want := range []string{"abc", "bca", "cab", "abc"} {
		if got := names(rotate(js, k)); got != want {
			t.Errorf("rotate(abc, %d) = %s, want %s", k, got, want)
		}
	}
	if names(js) != "abc" {
		t.Errorf("rotate changed its argument: %s", names(js))
	}
	if len(rotate(nil, 3)) != 0 {
		t.Error("rotate(nil) is not empty")
	}
}

func TestDefaultRunsText(t *testing.T) {
	want := "15 for workloads 1-2, 7 for workloads 3-4, 5 for workloads 5-6"
	if got := defaultRunsText(); got != want {
		t.Errorf("defaultRunsText() = %q, want %q", got, want)
	}
}
