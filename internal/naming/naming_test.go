package naming

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var protos = []string{"http", "https", "ftp", "ftps"}

func TestParseURL(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		errSub string // "" means valid
	}{
		{"plain https", "https://example.com/a.iso", ""},
		{"upper-case scheme is lowered", "HTTP://example.com/", ""},
		{"ftp with user", "ftp://u:p@h/x", ""},
		{"IPv6 host with port", "http://[::1]:8080/x", ""},
		{"file protocol not allowed", "file:///etc/passwd", `protocol "file" not allowed (allowed: http,https,ftp,ftps; see --proto)`},
		{"no host", "http:///nohost", "has no host"},
		{"port only", "http://:80/x", "has no host"},
		{"opaque", "http:foo", "has no host"},
		{"not a url", "not a url", "space"},
		{"no scheme", "example.com/a.iso", "no scheme: did you mean https://example.com/a.iso?"},
		{"no scheme, address and port", "127.0.0.1:18080/x", "no scheme: did you mean http://127.0.0.1:18080/x?"},
		{"no scheme, localhost", "localhost/x?q=1", "no scheme: did you mean http://localhost/x?q=1?"},
		{"no scheme, port 443", "example.com:443/x", "no scheme: did you mean https://example.com:443/x?"},
		{"no scheme, IPv6", "[::1]:8080/x", "no scheme: did you mean http://[::1]:8080/x?"},
		{"no scheme, host alone", "example.com", "no scheme: did you mean https://example.com?"},
		{"no scheme, network path", "//example.com/x", "no scheme: did you mean https://example.com/x?"},
		{"no scheme, the password is not echoed", "u:secret@example.com/x", "no scheme: did you mean https://u:***@example.com/x?"},
		{"a word is not a URL", "notaurl", "not a URL: write it as https://HOST/PATH"},
		{"a path is not a URL", "/srv/a.iso", "not a URL: write it as https://HOST/PATH"},
		{"scheme without slashes", "file:/etc/passwd", `protocol "file" not allowed`},
		{"empty", "", "empty URL"},
		{"space inside", "http://h/a b", "%20"},
		{"tab inside", "http://h/a\tb", "control"},
		{"NUL", "http://h/\x00", "control"},
		{"DEL", "http://h/\x7f", "control"},
		{"no-break space", "http://h/a\u00a0b", "space"},
		{"invalid UTF-8", "http://h/\xff", "UTF-8"},
		{"bad escape", "http://h/%zz", "not a valid URL"},
		{"bad port", "http://h:port/", "not a valid URL"},
		{"international host", "http://bücher.example/x", ""},
		{"international host, leading hyphen", "http://-bücher.example/x", `host "-bücher.example" is not a valid international domain name`},
		{"international host, underscore", "http://bü_cher.example/", "not a valid international domain name"},
		{"international host, mixed directions", "http://aאb.example/", "not a valid international domain name"},
		{"international host, empty label", "http://ü..example/", "not a valid international domain name"},
		{"international host, label over 63 bytes", "http://ü" + strings.Repeat("a", 70) + ".example/", "not a valid international domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL(tt.raw, protos)
			if tt.errSub == "" {
				if err != nil {
					t.Fatalf("ParseURL(%q) error %v", tt.raw, err)
				}
				if u.Scheme != strings.ToLower(u.Scheme) {
					t.Errorf("scheme %q not lowered", u.Scheme)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Fatalf("ParseURL(%q) error %v, want it to contain %q", tt.raw, err, tt.errSub)
			}
		})
	}
}

func TestRequest(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"http://bücher.localhost:8080/x", "http://xn--bcher-kva.localhost:8080/x"},
		{"HTTPS://BÜCHER.example/ä%20b?q=ü#ö", "HTTPS://xn--bcher-kva.example/ä%20b?q=ü#ö"},
		{"ftp://u:p%40w@münchen.de", "ftp://u:p%40w@xn--mnchen-3ya.de"},
		{"http://b%C3%BCcher.example?x", "http://xn--bcher-kva.example?x"},
		{"http://bücher.example:/x", "http://xn--bcher-kva.example:/x"},
		{"http://ü.example#/a", "http://xn--tda.example#/a"},
		// ASCII hosts go as written, upper case and escapes included.
		{"http://H.Example:80/ä?b", "http://H.Example:80/ä?b"},
		{"http://[::1]:8080/x", "http://[::1]:8080/x"},
		// Dot segments leave the path; the query and fragment are kept
		// as written, dots included.
		{"http://h/any/dir/%2E%2E", "http://h/any/"},
		{"http://h/any/%2E%2E/%2e%2e/x/./c?a=/../b#/./f", "http://h/x/c?a=/../b#/./f"},
		{"http://h/a/./b%2F..%2Fc//d/../e", "http://h/a/b%2F..%2Fc//e"},
		{"http://h/..", "http://h/"},
		{"http://h?/..", "http://h?/.."},
		{"http://h#/..", "http://h#/.."},
		{"http://ü.example/a/../b?x", "http://xn--tda.example/b?x"},
		{"http://u:p.@h/.%2e/x", "http://u:p.@h/x"},
		{"ftp://h/pub/%2e/f", "ftp://h/pub/f"},
	}
	for _, tt := range tests {
		u, err := ParseURL(tt.raw, protos)
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", tt.raw, err)
		}
		if got := Request(tt.raw, u); got != tt.want {
			t.Errorf("Request(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/a/b/..", "/a/"},
		{"/a/b/.", "/a/b/"},
		{"/a/b/../", "/a/"},
		{"/.", "/"},
		{"/..", "/"},
		{"/../../x", "/x"},
		{"/a/../../x", "/x"},
		// RFC 3986 section 5.4's examples, on the path of the base
		// URI's /b/c/ directory.
		{"/b/c/./g", "/b/c/g"},
		{"/b/c/../g", "/b/g"},
		{"/b/c/../../g", "/g"},
		{"/b/c/../../../g", "/g"},
		{"/b/c/g.", "/b/c/g."},
		{"/b/c/.g", "/b/c/.g"},
		{"/b/c/g..", "/b/c/g.."},
		{"/b/c/..g", "/b/c/..g"},
		{"/b/c/./../g", "/b/g"},
		{"/b/c/./g/.", "/b/c/g/"},
		{"/b/c/g/./h", "/b/c/g/h"},
		{"/b/c/g/../h", "/b/c/h"},
		// encoded dots, in either case, count as dots
		{"/a/%2e/b", "/a/b"},
		{"/a/%2E/b", "/a/b"},
		{"/a/b/%2e%2e/c", "/a/c"},
		{"/a/b/%2E%2e/c", "/a/c"},
		{"/a/b/.%2E/c", "/a/c"},
		{"/a/b/%2e./c", "/a/c"},
		{"/a/b/%2e%2e", "/a/"},
		{"/any/%2E%2E/%2e%2e/x/./c", "/x/c"},
		// not dot segments: kept as written
		{"/a/.../b", "/a/.../b"},
		{"/a/%2e%2e%2e/b", "/a/%2e%2e%2e/b"},
		{"/a/%2e%2fx/b", "/a/%2e%2fx/b"},
		{"/a%2F..%2Fb", "/a%2F..%2Fb"},
		{"/a/..%2F..%2Fb", "/a/..%2F..%2Fb"},
		{"/a/%2/b", "/a/%2/b"},
		{"/a/%2e%2/b", "/a/%2e%2/b"},
		{"/a/%252e/b", "/a/%252e/b"},
		{"/a/%c2%ae/b", "/a/%c2%ae/b"},
		// empty segments are segments: kept, and ".." drops one
		{"//a//b", "//a//b"},
		{"/a//../b", "/a/b"},
		{"/a/b//..", "/a/b/"},
		// the escapes of other segments are untouched
		{"/%41/./%7e", "/%41/%7e"},
		// a relative path (never one of a URL with a host) loses its dot
		// segments too
		{"a/../b", "b"},
		{"../a", "a"},
		{".", ""},
	}
	for _, tt := range tests {
		if got := RemoveDotSegments(tt.in); got != tt.want {
			t.Errorf("RemoveDotSegments(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFromURL(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		name string
		raw  string
		tree bool
		want string
	}{
		{"encoded slashes and dots stay one name", "http://h/a%2F..%2Fb", false, "a_.._b"},
		{"directory URL", "http://h/dir/", false, "index.html"},
		{"root", "http://h/", false, "index.html"},
		{"no path", "http://h", false, "index.html"},
		{"query ignored", "http://h/x.tar.gz?v=1", false, "x.tar.gz"},
		{"fragment ignored", "http://h/x.txt#frag", false, "x.txt"},
		{"percent-decoded", "http://h/my%20file.txt", false, "my file.txt"},
		{"encoded backslash", "http://h/a%5Cb", false, "a_b"},
		{"encoded control char", "http://h/a%0Ab", false, "a_b"},
		{"encoded invalid UTF-8", "http://h/a%FFb", false, "a_b"},
		{"last segment dot-dot", "http://h/a/..", false, "index.html"},
		{"last segment encoded dot-dot", "http://h/a/%2E%2E", false, "index.html"},
		{"long name truncated", "http://h/" + long + ".txt", false, strings.Repeat("é", 123) + ".txt"},
		{"tree with port", "http://H.example:8080/a/b/c.txt", true, "h.example_8080/a/b/c.txt"},
		{"tree default https port dropped", "https://h:443/a", true, "h/a"},
		{"tree default ftp port dropped", "ftp://h:21/a", true, "h/a"},
		{"tree non-default port for scheme", "https://h:80/a", true, "h_80/a"},
		{"tree directory URL", "http://h/d/", true, "h/d/index.html"},
		{"tree root", "http://h", true, "h/index.html"},
		{"tree dot segments as in the request", "http://h/../a/./b/../c", true, "h/a/c"},
		{"tree encoded dot segments as in the request", "http://h/%2E%2E/%2e/x/y/.%2E/z", true, "h/x/z"},
		{"tree dot-dot never above the host", "http://h/a/../../../../etc/x", true, "h/etc/x"},
		{"tree encoded slashes with a character Go escapes", "http://h/x%2F..%2F..%2Fetc{/y", true, "h/x_.._.._etc{/y"},
		{"encoded slashes with a character Go escapes", "http://h/a%2F..%2Fb{", false, "a_.._b{"},
		{"last segment dot", "http://h/a/b/.", false, "index.html"},
		{"dot-dot before the name", "http://h/a/../b.txt", false, "b.txt"},
		{"tree empty segments dropped", "http://h//a///b", true, "h/a/b"},
		{"tree encoded slash stays in segment", "http://h/a%2Fb/c", true, "h/a_b/c"},
		{"tree IPv6 host", "http://[::1]:8080/x", true, "[__1]_8080/x"},
		{"tree query ignored", "http://h/a/b?x=/../../etc", true, "h/a/b"},
		{"tree international host in its ASCII form", "http://Bücher.example:8080/a/ü.txt", true, "xn--bcher-kva.example_8080/a/ü.txt"},
		{"international host, name kept", "http://bücher.example/ü.txt", false, "ü.txt"},
		{"raw bidi override in name", "http://h/gpj\u202eexe.jpg", false, "gpj_exe.jpg"},
		{"encoded bidi override in name", "http://h/gpj%E2%80%AEexe.jpg", false, "gpj_exe.jpg"},
		{"encoded bidi isolate in tree directory", "http://h/a%E2%81%A6b/c", true, "h/a_b/c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL(tt.raw, protos)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.raw, err)
			}
			got := FromURL(u, tt.tree)
			if want := filepath.FromSlash(tt.want); got != want {
				t.Errorf("FromURL(%q, %v) = %q, want %q", tt.raw, tt.tree, got, want)
			}
			if !filepath.IsLocal(got) {
				t.Errorf("FromURL(%q) = %q is not local", tt.raw, got)
			}
		})
	}
}

func TestCleanOut(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		want   string
		errSub string
	}{
		{"simple name", "x.bin", "x.bin", ""},
		{"dot and repeated slashes removed", "a/./b//c", "a/b/c", ""},
		{"leading dot slash", "./a", "a", ""},
		{"spaces kept", "my dir/f", "my dir/f", ""},
		{"parent component", "../x", "", `".."`},
		{"parent component inside", "a/../b", "", `".."`},
		{"absolute", "/etc/x", "", "absolute"},
		{"NUL", "a\x00b", "", "control character"},
		{"newline", "a\nb", "", "control character"},
		{"DEL", "a\x7f", "", "control character"},
		{"right-to-left override", "gpj\u202eexe.jpg", "", "bidirectional control character (U+202E at byte 3)"},
		{"bidi isolate in a directory", "d\u2066/x", "", "U+2066"},
		{"arabic letter mark", "x\u061c", "", "U+061C"},
		{"right-to-left text kept", "\u05e9\u05dc\u05d5\u05dd/a", "\u05e9\u05dc\u05d5\u05dd/a", ""},
		{"empty", "", "", "empty"},
		{"only dot", ".", "", "names no file"},
		{"only slashes and dots", ".//./", "", "names no file"},
		{"trailing slash", "dir/", "", `ends in "/"`},
		{"trailing slash dot", "dir/.", "", `ends in "/"`},
		{"component too long", "a/" + strings.Repeat("x", 251), "", "longer than 250"},
		{"component of 250 bytes", strings.Repeat("x", 250), strings.Repeat("x", 250), ""},
		{"dots in names are fine", "a..b/...", "a..b/...", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanOut(tt.out)
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) {
					t.Fatalf("CleanOut(%q) = %q, %v; want error containing %q", tt.out, got, err, tt.errSub)
				}
				return
			}
			if err != nil || got != filepath.FromSlash(tt.want) {
				t.Fatalf("CleanOut(%q) = %q, %v; want %q", tt.out, got, err, tt.want)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "a.txt", "a.txt"},
		{"empty", "", "index.html"},
		{"dot", ".", "_"},
		{"dot-dot", "..", "__"},
		{"three dots kept", "...", "..."},
		{"slash and backslash", `a/b\c`, "a_b_c"},
		{"control chars", "a\x00b\x1fc\x7fd\u0085e", "a_b_c_d_e"},
		{"invalid UTF-8 bytes", "a\xff\xfeb", "a__b"},
		{"truncated UTF-8 sequence", "a\xe2\x82", "a__"},
		{"slash then dot-dot", "/.", "_."},
		{"long keeps short extension", strings.Repeat("a", 300) + ".tar.gz", strings.Repeat("a", 247) + ".gz"},
		{"long drops long extension", strings.Repeat("a", 240) + "." + strings.Repeat("b", 30), strings.Repeat("a", 240) + "." + strings.Repeat("b", 9)},
		{"long cut at rune boundary", "x" + strings.Repeat("€", 100), "x" + strings.Repeat("€", 83)},
		{"right-to-left override", "gpj\u202eexe.jpg", "gpj_exe.jpg"},
		{"every bidi control", "a\u061cb\u200ec\u200fd\u202ae\u202bf\u202cg\u202dh\u202ei\u2066j\u2067k\u2068l\u2069m", "a_b_c_d_e_f_g_h_i_j_k_l_m"},
		{"right-to-left text kept", "\u05e9\u05dc\u05d5\u05dd.txt", "\u05e9\u05dc\u05d5\u05dd.txt"},
		{"long with extension of exactly 16 bytes", strings.Repeat("a", 300) + "." + strings.Repeat("e", 15), strings.Repeat("a", 234) + "." + strings.Repeat("e", 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sanitize(tt.in)
			if got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > MaxName || !utf8.ValidString(got) {
				t.Errorf("Sanitize(%q) = %q: too long or invalid UTF-8", tt.in, got)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	tg := NewTargets()
	steps := []struct {
		name, path, source, earlier string
	}{
		{"first claim", "a/x.iso", "list.txt:1", ""},
		{"other file", "a/y.iso", "list.txt:2", ""},
		{"same path", "a/x.iso", "list.txt:9", "list.txt:1"},
		{"same path after cleaning", "a//./x.iso", "arg:3", "list.txt:1"},
		{"part twin of claimed path", "a/x.iso.part", "-:7", "list.txt:1"},
		{"claim a .part path", "b.part", "-:8", ""},
		{"path whose part twin was claimed", "b", "other.txt:4000000000", "-:8"},
		{"odd source kept whole", "c", "weird", ""},
		{"odd source reported whole", "c.part", "x:1", "weird"},
		{"non-canonical line kept whole", "d", "l:007", ""},
		{"non-canonical line reported whole", "d", "x:1", "l:007"},
		{"line too big kept whole", "e", "l:4294967295", ""},
		{"line too big reported whole", "e", "x:1", "l:4294967295"},
		{"colon in name", "f", "C:/lists/a.txt:12", ""},
		{"colon in name reported", "f.part", "x:1", "C:/lists/a.txt:12"},
		{"after a refusal the path is still free for nobody", "a/x.iso", "arg:1", "list.txt:1"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			earlier, ok := tg.Claim(s.path, s.source)
			if ok != (s.earlier == "") || earlier != s.earlier {
				t.Errorf("Claim(%q, %q) = %q, %v; want %q", s.path, s.source, earlier, ok, s.earlier)
			}
		})
	}
	if len(tg.names) != 6 {
		t.Errorf("interned %d names %q, want 6", len(tg.names), tg.names)
	}
}
