package naming

import (
	"fmt"
	"testing"
)

func TestTargetsAtScale(t *testing.T) {
	tg := NewTargets()
	const n = 100000
	for i := 0; i < n; i++ {
		if earlier, ok := tg.Claim(fmt.Sprintf("out/d/%d", i), fmt.Sprintf("list.txt:%d", i+1)); !ok {
			t.Fatalf("path %d refused as a duplicate of %s", i, earlier)
		}
	}
	for _, i := range []int{0, 1, 4095, 4096, 77777, n - 1} {
		earlier, ok := tg.Claim(fmt.Sprintf("out/d/%d", i), "list.txt:999999")
		if ok || earlier != fmt.Sprintf("list.txt:%d", i+1) {
			t.Errorf("duplicate of path %d: ok=%v earlier=%q", i, ok, earlier)
		}
		if earlier, ok := tg.Claim(fmt.Sprintf("out/d/%d.part", i), "x:1"); ok || earlier == "" {
			t.Errorf("the .part twin of path %d was not refused", i)
		}
	}
}

func TestTargetsSourceRuns(t *testing.T) {
	tg := NewTargets()
	claims := []struct{ path, source string }{
		{"a", "l.txt:1"}, {"b", "l.txt:2"}, {"c", "l.txt:3"}, // one run
		{"d", "l.txt:7"},               // a gap starts a run
		{"e", "arg:1"}, {"f", "arg:2"}, // another input
		{"g", "weird"},   // a source without a line
		{"h", "l.txt:8"}, // back to the first input
	}
	for _, c := range claims {
		if _, ok := tg.Claim(c.path, c.source); !ok {
			t.Fatalf("%s refused", c.path)
		}
	}
	for _, c := range claims {
		t.Run(c.path, func(t *testing.T) {
			if earlier, ok := tg.Claim(c.path, "later:1"); ok || earlier != c.source {
				t.Errorf("earlier = %q, want %q", earlier, c.source)
			}
		})
	}
	if n := len(tg.src.runs); n != 5 {
		t.Errorf("%d runs, want 5", n)
	}
}

func TestTargetsTooManyNames(t *testing.T) {
	tg := NewTargets()
	for i := 0; i < maxNames; i++ {
		tg.Claim(fmt.Sprintf("a/%d", i), fmt.Sprintf("list%d.txt:1", i))
	}
	tg.Claim("b", "one-name-too-many.txt:5")
	if earlier, ok := tg.Claim("b", "later:1"); ok || earlier != "an earlier entry" {
		t.Errorf("earlier = %q", earlier)
	}
}

func TestTargetsFileAndDirectoryClash(t *testing.T) {
	cases := []struct {
		name   string
		first  string
		second string
		want   string
	}{
		{"file where a directory is needed", "out/d/f", "out/d", "out/d is a directory holding the target of l:1"},
		{"deeper directory", "out/a/b/c", "out/a", "out/a is a directory holding the target of l:1"},
		{"path inside a file", "out/e", "out/e/g", "out/e/g would lie inside out/e, the target of l:1"},
		{"deep path inside a file", "out/e", "out/e/g/h", "out/e/g/h would lie inside out/e, the target of l:1"},
		{"siblings are fine", "out/d/f", "out/d/g", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := NewTargets()
			if err := tg.ClaimTarget(c.first, "l:1"); err != nil {
				t.Fatal(err)
			}
			err := tg.ClaimTarget(c.second, "l:2")
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
