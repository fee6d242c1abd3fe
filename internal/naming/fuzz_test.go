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
		"http://h/any/%2E%2E/%2e%2e/x/./c?a=/../b",
		"/a/b/.%2E//../%2e./c/%2e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkDotSegments(t, "/"+s)
		if u, err := ParseURL(s, protos); err == nil {
			req := Request(s, u)
			u2, err := ParseURL(req, protos)
			if err != nil {
				t.Fatalf("Request(%q) = %q, which ParseURL refuses: %v", s, req, err)
			}
			if again := Request(req, u2); again != req {
				t.Fatalf("Request(%q) = %q, but Request of that is %q", s, req, again)
			}
			if p := writtenPath(u2); RemoveDotSegments(p) != p {
				t.Fatalf("Request(%q) = %q still has dot segments", s, req)
			}
			for _, tree := range []bool{false, true} {
				if a, b := FromURL(u, tree), FromURL(u2, tree); a != b {
					t.Fatalf("FromURL(%q, %v) = %q but %q for its request %q", s, tree, a, b, req)
				}
			}
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

// checkDotSegments checks RemoveDotSegments(p) for a p starting with "/":
// the result has no dot segment left, is unchanged by a second pass, does
// not change when p starts with a ".." (nothing goes above the root), and
// keeps p's other segments byte for byte and in order, adding at most an
// empty last one (where a dot segment ended p).
func checkDotSegments(t *testing.T, p string) {
	c := RemoveDotSegments(p)
	if !strings.HasPrefix(c, "/") {
		t.Fatalf("RemoveDotSegments(%q) = %q: not absolute", p, c)
	}
	if again := RemoveDotSegments(c); again != c {
		t.Fatalf("RemoveDotSegments(%q) = %q, then %q", p, c, again)
	}
	if above := RemoveDotSegments("/.." + p); above != c {
		t.Fatalf("RemoveDotSegments(%q) = %q, but %q with \"/..\" before it", p, c, above)
	}
	in, out := strings.Split(p[1:], "/"), strings.Split(c[1:], "/")
	j := 0
	for _, seg := range in {
		if j < len(out) && seg == out[j] {
			j++
		}
	}
	if j < len(out) && !(j == len(out)-1 && out[j] == "") {
		t.Fatalf("RemoveDotSegments(%q) = %q: segment %q is not one of the path's, in order", p, c, out[j])
	}
	for _, seg := range out {
		if d := strings.ReplaceAll(strings.ToLower(seg), "%2e", "."); d == "." || d == ".." {
			t.Fatalf("RemoveDotSegments(%q) = %q: dot segment %q left", p, c, seg)
		}
	}
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
