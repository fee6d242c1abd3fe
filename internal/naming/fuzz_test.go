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
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ParseURL(s, protos); err == nil {
			for _, tree := range []bool{false, true} {
				p := FromURL(u, tree)
				if !filepath.IsLocal(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
					t.Fatalf("FromURL(%q, %v) = %q: not local or has control chars", s, tree, p)
				}
				for _, c := range strings.Split(p, string(filepath.Separator)) {
					if c == "" || c == "." || c == ".." || len(c) > MaxName {
						t.Fatalf("FromURL(%q, %v) = %q: bad component %q", s, tree, p, c)
					}
				}
			}
		}
		if p, err := CleanOut(s); err == nil {
			if !filepath.IsLocal(p) {
				t.Fatalf("CleanOut(%q) = %q: not local", s, p)
			}
			for _, c := range strings.Split(p, string(filepath.Separator)) {
				if c == "" || c == "." || c == ".." {
					t.Fatalf("CleanOut(%q) = %q: bad component %q", s, p, c)
				}
			}
		}
		n := Sanitize(s)
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || len(n) > MaxName {
			t.Fatalf("Sanitize(%q) = %q", s, n)
		}
	})
}
