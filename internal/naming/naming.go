// Package naming turns list URLs and out= values into safe relative output
// paths and detects entries that would write the same file.
//
// # Rules
//
// URLs (ParseURL): a URL must be absolute, its protocol (compared in lower
// case) must be one of those allowed, it must have a host, be valid UTF-8
// and hold no spaces or control characters (spaces are written %20). A
// host with non-ASCII letters (an internationalised domain name) must be
// valid under IDNA's lookup rules (UTS #46, as browsers apply them) and is
// used in its ASCII form, "bücher.example" as "xn--bcher-kva.example":
// that is what is sent (Request) and what names the --tree directory.
//
// Request paths (RemoveDotSegments): the dot segments of the URL path are
// removed as RFC 3986 section 5.2.4 says, a segment "." or ".." counting
// also when its dots are written %2E or %2e (section 6.2.2.2: an encoded
// unreserved character is that character), so "/a/%2E%2E/b" is sent as
// "/b"; a ".." at the root stays at the root. Everything else in the URL
// (other escapes, "%2F", empty segments, the query) is sent as written.
// This is what libcurl 8.13 and later do themselves, while older libcurl
// removes only the literal "." and ".."; doing it here makes a list
// request the same URLs whatever libcurl it runs on (libcurl finds nothing
// left to remove).
//
// Names from URLs (FromURL): the output name is the last segment of the
// request path, percent-decoded then sanitised; the query and fragment are
// ignored. A path that is empty or ends in "/" (or in a dot segment, which
// leaves a "/") gives "index.html". With tree=true the path is
// HOST/SEG/.../NAME: the host in lower case, followed by "_PORT" when the
// URL names a port other than the protocol's default (http 80, https 443,
// ftp 21, ftps 990); an IPv6 host is kept in brackets with each ":"
// written "_" ("[__1]_8080"). The segments are those of the request path,
// so the file lies where the resource it holds does ("/a/../b" is saved as
// HOST/b), and a URL cannot climb out of its host directory; every segment
// is decoded and sanitised, and empty ones from "//" are dropped.
//
// Sanitising one segment (Sanitize): "/" and "\" become "_" (so "%2F" in a
// URL never makes a directory), as do control characters, the Unicode
// bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E,
// U+2066-U+2069: they make a name display in another order than it is
// spelt, "\u202egpj.exe" as "exe.jpg") and bytes that are not UTF-8; "."
// becomes "_" and ".." "__"; a name longer than 250 bytes is cut at a character boundary, keeping its extension when that is
// at most 16 bytes; an empty name becomes "index.html".
//
// out= values (CleanOut): a relative path using "/"; "." components and
// repeated "/" are dropped. It is refused when it is empty, absolute, has a
// ".." component, holds a control character (0x00-0x1f, 0x7f) or a
// bidirectional control (the user's own name is refused, not altered), has a
// component longer than 250 bytes, or does not end in a file name (ends in
// "/" or "/.", or is only ".").
//
// Duplicates (Targets): two entries may not write the same path, nor one
// write P while another writes P.part, since P.part is where P is
// downloaded before being renamed.
package naming

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxName is the longest file name component, in bytes, that is produced
// or accepted. Most file systems stop at 255; the margin leaves room for
// the ".part" suffix of the temporary file.
const MaxName = 250

// maxExt is the longest extension Sanitize keeps when it shortens a name;
// anything longer is more likely part of the name than a file type.
const maxExt = 16

var defaultPorts = map[string]string{
	"http":  "80",
	"https": "443",
	"ftp":   "21",
	"ftps":  "990",
}

// FromURL derives the relative output path of u; see the package comment
// for the rules. The result always satisfies filepath.IsLocal.
func FromURL(u *url.URL, tree bool) string {
	segs := strings.Split(RemoveDotSegments(writtenPath(u)), "/")
	name := "index.html"
	if last := decode(segs[len(segs)-1]); last != "" && last != "." && last != ".." {
		name = Sanitize(last)
	}
	if !tree {
		return name
	}
	parts := []string{hostDir(u)}
	for _, s := range segs[:len(segs)-1] {
		s = decode(s)
		if s == "" || s == "." || s == ".." {
			continue
		}
		parts = append(parts, Sanitize(s))
	}
	parts = append(parts, name)
	return filepath.Join(parts...)
}

// writtenPath is the path of u as the URL wrote it. url.Parse keeps it in
// RawPath whenever it differs from the default escaping of Path, which
// EscapedPath would otherwise return: "/a%2Fb{" must stay one segment
// (EscapedPath gives "/a/b%7B").
func writtenPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}

// decode percent-decodes one escaped path segment. A segment that does not
// decode is used as written rather than failing, since FromURL has no
// error to return and the text is sanitised anyway.
func decode(seg string) string {
	if d, err := url.PathUnescape(seg); err == nil {
		return d
	}
	return seg
}

func hostDir(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if host == "" {
		host = "_"
	}
	if strings.Contains(host, ":") {
		// Brackets keep an IPv6 address apart from the port suffix.
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != defaultPorts[strings.ToLower(u.Scheme)] {
		host += "_" + p
	}
	// ":" is kept out of directory names because Windows and macOS
	// Finder treat it specially.
	return Sanitize(strings.ReplaceAll(host, ":", "_"))
}

// Sanitize makes one decoded path segment a safe file name; see the
// package comment for the rules. It never returns "", ".", ".." or a
// string holding "/".
func Sanitize(seg string) string {
	var b strings.Builder
	b.Grow(len(seg))
	for i := 0; i < len(seg); {
		r, size := utf8.DecodeRuneInString(seg[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteByte('_')
		case r == '/' || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			b.WriteByte('_')
		default:
			b.WriteString(seg[i : i+size])
		}
		i += size
	}
	s := b.String()
	switch s {
	case "":
		return "index.html"
	case ".":
		return "_"
	case "..":
		return "__"
	}
	if len(s) > MaxName {
		s = shorten(s)
	}
	return s
}

// shorten cuts a valid UTF-8 name to at most MaxName bytes, keeping a short
// extension so the file still opens with the right program.
func shorten(s string) string {
	ext := ""
	if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= maxExt {
		ext = s[i:]
	}
	base := s[:len(s)-len(ext)]
	n := MaxName - len(ext)
	for n > 0 && !utf8.RuneStart(base[n]) {
		n--
	}
	return base[:n] + ext
}

// CleanOut validates and cleans a user's out= value; see the package
// comment for the rules. The result uses the host's path separator.
func CleanOut(out string) (string, error) {
	if out == "" {
		return "", errors.New("out= is empty: give a relative file path")
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("out=%q has a control character (byte 0x%02x at %d): remove it", out, c, i)
		}
	}
	for i, r := range out {
		if unicode.Is(unicode.Bidi_Control, r) {
			return "", fmt.Errorf("out=%q has a bidirectional control character (%U at byte %d), which makes a name display in another order than it is spelt: remove it", out, r, i)
		}
	}
	if strings.HasPrefix(out, "/") || filepath.IsAbs(out) || filepath.VolumeName(out) != "" {
		return "", fmt.Errorf("out=%q is an absolute path: give a path relative to the output directory (see --dir)", out)
	}
	var parts []string
	for _, c := range strings.Split(out, "/") {
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			return "", fmt.Errorf("out=%q has a \"..\" component: give a path inside the output directory", out)
		case len(c) > MaxName:
			return "", fmt.Errorf("out=%q has a component longer than %d bytes: shorten it", out, MaxName)
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("out=%q names no file: give a relative file path", out)
	}
	if strings.HasSuffix(out, "/") || strings.HasSuffix(out, "/.") {
		return "", fmt.Errorf("out=%q ends in \"/\": out= names the file itself, e.g. out=%s/NAME", out, strings.Join(parts, "/"))
	}
	p := filepath.Join(parts...)
	if !filepath.IsLocal(p) {
		// Only reachable on systems with reserved names (Windows "NUL").
		return "", fmt.Errorf("out=%q is not a usable local path on this system", out)
	}
	return p, nil
}
