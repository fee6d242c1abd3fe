package naming

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func FuzzNaming(f *testing.F) {
	for _, s := range []string{
		"http://h/a%2F..%2Fb",
		"https://H:443/../x/%2e%2E/y?q#f",
		"../x",
		"a/./b//c",
		"http://h/gpj%E2%80%AEexe.jpg",
		"d\u2067/x\u200f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ParseURL(s, protos); err == nil {
			for _, tree := range []bool{false, true} {
				p := FromURL(u, tree)
				if !filepath.IsLocal(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 || strings.IndexFunc(p, isBidiControl) >= 0 {
					t.Fatalf("FromURL(%q, %v) = %q: not local or has control or bidi control chars", s, tree, p)
				}
				for _, c := range strings.Split(p, string(filepath.Separator)) {
					if c == "" || c == "." || c == ".." || len(c) > MaxName {
						t.Fatalf("FromURL(%q, %v) = %q: bad component %q", s, tree, p, c)
					}
				}
			}
		}
		if p, err := CleanOut(s); err == nil {
			if !filepath.IsLocal(p) || strings.IndexFunc(p, isBidiControl) >= 0 {
				t.Fatalf("CleanOut(%q) = %q: not local or has a bidi control", s, p)
			}
			for _, c := range strings.Split(p, string(filepath.Separator)) {
				if c == "" || c == "." || c == ".." {
					t.Fatalf("CleanOut(%q) = %q: bad component %q", s, p, c)
				}
			}
		}
		n := Sanitize(s)
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || len(n) > MaxName ||
			strings.IndexFunc(n, unicode.IsControl) >= 0 || strings.IndexFunc(n, isBidiControl) >= 0 {
			t.Fatalf("Sanitize(%q) = %q", s, n)
		}
	})
}

// isBidiControl is written out here, apart from the code under test, so the
// fuzz target checks the list rather than trusting it: the controls that
// reorder text as it is displayed (Unicode's Bidi_Control property).
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
