package engine

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/multiget/multiget/internal/naming"
)

// FuzzContentDisposition reads each input both as a whole
// Content-Disposition value and as the file name a server sends in one
// (encoded as filename*=, which carries any byte).
func FuzzContentDisposition(f *testing.F) {
	long := strings.Repeat("n", 300) + ".bin"
	for _, s := range []string{
		// TestContentDisposition (engine, cmd) and the test server's
		// /cd/ and /cd5987/ routes.
		`attachment; filename="report.pdf"`,
		`attachment; filename="../../x"`,
		`attachment; filename="/etc/passwd"`,
		`attachment; filename="..\..\win"`,
		"attachment; filename=\"a\x01b\x7fc\x1b.txt\"",
		`attachment; filename="` + long + `"`,
		`attachment; filename="server-name.txt"`,
		"attachment; filename=\"\u202egpj.exe\"",
		"attachment; filename*=UTF-8''a%E2%81%A6b%E2%81%A9%E2%80%8F%D8%9C.txt",
		"attachment; filename=\"a\tb\"",
		"attachment; filename*=UTF-8''%C3%BC%20..%2Fx.txt",
		`attachment; filename="y"; filename*=UTF-8''x`,
		// The names alone, and multiget's own temporary files.
		"report.pdf", "../../x", `..\..\win`, "\u202egpj.exe", long,
		"x.part", "x.part.meta", "x.part.meta.tmp", "a/.", "..", "/",
		`inline; filename="x.part"`, `attachment; filename*0="a/"; filename*1="b"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name := contentDispositionName(s)
		checkCDName(t, s, name)
		if again := contentDispositionName(s); again != name {
			t.Fatalf("contentDispositionName(%q) = %q, then %q", s, name, again)
		}

		// s as the file name.
		got := contentDispositionName(cdHeader(s))
		checkCDName(t, cdHeader(s), got)
		// filename*= wins over a plain filename= (RFC 6266 section 4.3).
		if fb := contentDispositionName(`attachment; filename="fallback"; ` + strings.TrimPrefix(cdHeader(s), "attachment; ")); fb != got {
			t.Fatalf("name %q: %q alone but %q beside a plain filename", s, got, fb)
		}
		// Only the last element counts: a path before it changes nothing.
		if strings.Trim(s, `/\`) != "" {
			for _, dir := range []string{"../../", "/etc/", `..\`, "a/b\\", "./"} {
				if p := contentDispositionName(cdHeader(dir + s)); p != got {
					t.Fatalf("name %q gives %q, but %q with %q before it", s, got, p, dir)
				}
			}
		}
		// One element is sanitised as a name from a URL is, unless it is
		// no name or looks like a temporary file.
		if s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`) {
			want := naming.Sanitize(s)
			if isTempName(want) {
				want = ""
			}
			if got != want {
				t.Fatalf("name %q gives %q, want %q", s, got, want)
			}
		}
	})
}

// cdHeader is a Content-Disposition value naming the file s, every byte
// but letters and digits percent-encoded (RFC 5987).
func cdHeader(s string) string {
	var b strings.Builder
	b.WriteString("attachment; filename*=UTF-8''")
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// checkCDName checks that a name from contentDispositionName is none ("")
// or one safe file name: a single local path element, no control
// character, valid UTF-8, at most naming.MaxName bytes, already sanitised,
// and not named like multiget's temporary files.
func checkCDName(t *testing.T, v, name string) {
	t.Helper()
	if name == "" {
		return
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) || !filepath.IsLocal(name) ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name) || len(name) > naming.MaxName {
		t.Fatalf("contentDispositionName(%q) = %q: not a safe file name", v, name)
	}
	if naming.Sanitize(name) != name {
		t.Fatalf("contentDispositionName(%q) = %q, which Sanitize changes to %q", v, name, naming.Sanitize(name))
	}
	if isTempName(name) {
		t.Fatalf("contentDispositionName(%q) = %q: named like a temporary file", v, name)
	}
}

// isTempName reports a name ending like NAME.part, its .meta or the .meta
// being written, spelt out here rather than taken from the constants.
func isTempName(name string) bool {
	for _, suf := range []string{".part", ".part.meta", ".part.meta.tmp"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}
