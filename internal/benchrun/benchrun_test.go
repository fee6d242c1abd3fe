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

func TestOrderIsBalanced(t *testing.T) {
	for n := 1; n <= 7; n++ {
		js := make([]*job, n)
		for i := range js {
			js[i] = &job{tool: string(rune('a' + i))}
		}
		period, want := n, 1
		if n%2 == 1 {
			period, want = 2*n, 2
		}
		follows := map[[2]string]int{}
		first := map[string]int{}
		for k := 0; k < period; k++ {
			row := order(js, k)
			seen := map[string]bool{}
			for i, j := range row {
				if seen[j.tool] {
					t.Fatalf("n=%d round %d: %s twice", n, k, j.tool)
				}
				seen[j.tool] = true
				if i > 0 {
					follows[[2]string{row[i-1].tool, j.tool}]++
				}
			}
			if len(row) != n {
				t.Fatalf("n=%d round %d: %d tools", n, k, len(row))
			}
			first[row[0].tool]++
			// The order repeats with its period.
			again := order(js, k+period)
			for i := range row {
				if again[i] != row[i] {
					t.Fatalf("n=%d: round %d differs from round %d", n, k+period, k)
				}
			}
		}
		for _, a := range js {
			if n > 1 && first[a.tool] != want {
				t.Errorf("n=%d: %s first in %d rounds, want %d", n, a.tool, first[a.tool], want)
			}
			for _, b := range js {
				if a == b {
					continue
				}
				if got := follows[[2]string{a.tool, b.tool}]; got != want {
					t.Errorf("n=%d: %s right after %s %d times in %d rounds, want %d", n, b.tool, a.tool, got, period, want)
				}
			}
		}
		if names := js[0].tool; names != "a" {
			t.Errorf("order changed its argument")
		}
	}
	if len(order(nil, 3)) != 0 {
		t.Error("order(nil) is not empty")
	}
}

func TestDefaultRunsText(t *testing.T) {
	want := "15 for workloads 1-2, 7 for workloads 3-4, 5 for workloads 5-6"
	if got := defaultRunsText(); got != want {
		t.Errorf("defaultRunsText() = %q, want %q", got, want)
	}
}
