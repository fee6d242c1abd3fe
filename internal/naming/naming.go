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
// removes only the literal "." and ".."; doing it here (and telling
// libcurl to send the path as is) makes a list request the same URLs
// whatever libcurl it runs on.
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
	"hash/maphash"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxName is the longest file name component, in bytes, that is produced
// or accepted. Most file systems stop at 255; the margin leaves room for
// the ".part" suffix of the temporary file.
const MaxName = 250

// maxExt is the longest extension Sanitize keeps when it shortens a name;
// anything longer is more likely part of the name than a file type.
const maxExt = 16

// ParseURL validates a URL from a list or the command line. allowed lists
// the protocols accepted, e.g. http, https, ftp, ftps.
func ParseURL(raw string, allowed []string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	if !utf8.ValidString(raw) {
		return nil, errors.New("URL is not valid UTF-8: percent-encode its bytes (%XX)")
	}
	for i, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return nil, fmt.Errorf("URL has a space or control character (%U) at byte %d: write it percent-encoded, a space as %%20", r, i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a valid URL: %v", err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("URL %q has no protocol: write it in full, e.g. https://%s", raw, strings.TrimPrefix(raw, "//"))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	ok := false
	for _, a := range allowed {
		if strings.EqualFold(a, u.Scheme) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("protocol %q not allowed (allowed: %s; see --proto)", u.Scheme, strings.Join(allowed, ","))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host: write it as %s://HOST/PATH", raw, u.Scheme)
	}
	if h := u.Hostname(); !isASCII(h) {
		a, err := idnaLookup.ToASCII(h)
		if err != nil {
			return nil, fmt.Errorf("host %q is not a valid international domain name (%v): check its spelling, or write it in its ASCII form (xn--...)", h, err)
		}
		// A host with a non-ASCII letter is never an IPv6 literal (those
		// are hex digits and colons), so u.Host is the host, then any port.
		u.Host = a + u.Host[len(h):]
	}
	return u, nil
}

// idnaLookup is IDNA's lookup profile (idna.Lookup) that also checks DNS's
// length limits: a host no resolver would accept is refused here, with the
// entry named, rather than failing later with a resolver's message.
var idnaLookup = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true))

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Request returns the URL to hand to libcurl for raw, which ParseURL
// turned into u: raw itself, but with an internationalised host written in
// its ASCII form and the dot segments removed from its path
// (RemoveDotSegments). libcurl would convert the host itself only when the
// process's locale is UTF-8, which a Go program never sets; the rest of raw
// stays byte for byte as written (u.String() would re-escape it).
func Request(raw string, u *url.URL) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	start := i + len("://")
	end := len(raw) // of the authority, where the path starts
	if j := strings.IndexAny(raw[start:], "/?#"); j >= 0 {
		end = start + j
	}
	pathEnd := len(raw)
	if j := strings.IndexAny(raw[end:], "?#"); j >= 0 {
		pathEnd = end + j
	}
	head, path := raw[:end], raw[end:pathEnd]
	auth := raw[start:end]
	host := auth
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		host = auth[at+1:]
	}
	idn := false
	if d, err := url.PathUnescape(host); err == nil && !isASCII(d) {
		head, idn = raw[:end-len(host)]+u.Host, true
	}
	clean := RemoveDotSegments(path)
	if !idn && clean == path {
		return raw // nothing to convert
	}
	return head + clean + raw[pathEnd:]
}

// RemoveDotSegments removes the dot segments of p, the path of a URL as
// written (escaped, no query or fragment), as RFC 3986 section 5.2.4 does:
// a segment "." is dropped, a segment ".." drops itself and the segment
// before it, if any (a ".." at the root stays there), and a dot segment at
// the end leaves the path ending in "/". A segment is a dot segment also
// when a dot in it is written %2E or %2e: "%2e%2E" and ".%2e" are "..".
// All other segments are kept byte for byte, empty ones and "%2F" inside
// a segment included. The result has no dot segment, so applying
// RemoveDotSegments again changes nothing.
func RemoveDotSegments(p string) string {
	if strings.IndexByte(p, '.') < 0 && !strings.Contains(p, "%2e") && !strings.Contains(p, "%2E") {
		return p // the common case: no dot at all
	}
	abs := strings.HasPrefix(p, "/")
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	found := false
	for _, s := range segs {
		if dots(s) > 0 {
			found = true
			break
		}
	}
	if !found {
		return p
	}
	out := segs[:0]
	for i, s := range segs {
		switch dots(s) {
		case 0:
			out = append(out, s)
			continue
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		}
		if i == len(segs)-1 {
			out = append(out, "") // "/a/.." is "/", a directory
		}
	}
	r := strings.Join(out, "/")
	if abs {
		r = "/" + r
	}
	return r
}

// dots says whether the escaped segment s is "." (1), ".." (2) or neither
// (0), a dot also being written %2E or %2e.
func dots(s string) int {
	n := 0
	for len(s) > 0 {
		switch {
		case s[0] == '.':
			s = s[1:]
		case len(s) >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E'):
			s = s[3:]
		default:
			return 0
		}
		if n++; n > 2 {
			return 0
		}
	}
	return n
}

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

// Targets detects two entries that would write the same path. Lists can
// be millions of lines long and arrive as a stream, so it keeps, per path,
// only a fingerprint of a 64-bit hash (seeded per process: a list cannot be
// crafted to collide) in a table outside the Go heap, about 10 bytes a
// path, and the claimants' sources as runs of consecutive lines. A false
// duplicate needs two paths of a list to share 44 fingerprint bits in one
// probe sequence: for a million-line list, about one chance in 10^5.
// A Targets is safe for concurrent use.
type Targets struct {
	mu    sync.Mutex
	tab   shardedTable
	src   sourceRuns
	seed  maphash.Seed
	names []string
	ids   map[string]uint32
}

// A source is a name (an index into Targets.names) and a line number;
// refNoLine means the name is the whole source. Sources beyond maxNames
// names, or beyond the millionth claim, are remembered as unknown: the
// duplicate is still refused, but named only as "an earlier entry".
const (
	refNoLine = 1<<32 - 1
	maxNames  = 1 << 16
)

// NewTargets returns an empty Targets.
func NewTargets() *Targets {
	return &Targets{seed: maphash.MakeSeed(), ids: make(map[string]uint32)}
}

// Claim records that source writes path. If path, or its temporary twin
// (path+".part", or path without ".part" when it ends so), was claimed
// before, Claim records nothing and returns the earlier source and false.
// It is ClaimTarget for callers that only care about equal paths.
func (t *Targets) Claim(path, source string) (earlier string, ok bool) {
	if c := t.claim(path, source); c != nil {
		return c.Earlier, false
	}
	return "", true
}

// ClaimTarget records that source writes path, or returns a *Conflict when
// an earlier entry writes the same path (or its .part twin), writes a file
// where path needs a directory, or needs path itself as a directory.
func (t *Targets) ClaimTarget(path, source string) error {
	if c := t.claim(path, source); c != nil {
		return c
	}
	return nil
}

// Conflict is a target that an earlier entry's target rules out.
type Conflict struct {
	Path    string // the refused target
	Earlier string // the earlier entry's source
	Dir     string // for ConflictInsideFile: the earlier entry's file
	Kind    ConflictKind
}

// ConflictKind says how two targets collide.
type ConflictKind int

const (
	ConflictSame       ConflictKind = iota // the same file
	ConflictIsDir                          // the path is a directory of the earlier target
	ConflictInsideFile                     // a parent of the path is the earlier target
)

func (c *Conflict) Error() string {
	switch c.Kind {
	case ConflictIsDir:
		return fmt.Sprintf("%s is a directory holding the target of %s", c.Path, c.Earlier)
	case ConflictInsideFile:
		return fmt.Sprintf("%s would lie inside %s, the target of %s", c.Path, c.Dir, c.Earlier)
	}
	return fmt.Sprintf("%s is already the target of %s", c.Path, c.Earlier)
}

// Directories are recorded in the same table under their own hash domain,
// once each, so a file and a directory of the same name are caught before
// either is downloaded; a flat list costs one directory slot in all.
const dirDomain = "\x00dir\x00"

func (t *Targets) dirKey(d string) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(dirDomain)
	h.WriteString(d)
	return h.Sum64()
}

func (t *Targets) claim(path, source string) *Conflict {
	p := filepath.Clean(path)
	key := maphash.String(t.seed, p)
	var twin uint64
	if base, cut := strings.CutSuffix(p, ".part"); cut {
		twin = maphash.String(t.seed, base)
	} else {
		twin = maphash.String(t.seed, p+".part")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range [...]uint64{key, twin} {
		if idx, found := t.tab.get(k); found {
			return &Conflict{Path: path, Earlier: t.source(idx), Kind: ConflictSame}
		}
	}
	if idx, found := t.tab.get(t.dirKey(p)); found {
		return &Conflict{Path: path, Earlier: t.source(idx), Kind: ConflictIsDir}
	}
	// The parents this path needs as directories, up to the first one
	// already recorded (whose own parents were checked when it was).
	var newDirs []uint64
	for d := filepath.Dir(p); d != "." && d != "/" && d != p; d = filepath.Dir(d) {
		dk := t.dirKey(d)
		if _, found := t.tab.get(dk); found {
			break
		}
		if idx, found := t.tab.get(maphash.String(t.seed, d)); found {
			return &Conflict{Path: path, Earlier: t.source(idx), Dir: d, Kind: ConflictInsideFile}
		}
		newDirs = append(newDirs, dk)
	}
	idx := uint32(refIndexUnknown)
	if name, line, ok := t.split(source); ok && t.src.n < refIndexUnknown {
		idx = t.src.add(name, line)
	}
	t.tab.put(key, idx)
	for _, dk := range newDirs {
		t.tab.put(dk, idx)
	}
	return nil
}

// split interns the name part of a source "NAME:LINE".
func (t *Targets) split(source string) (name, line uint32, ok bool) {
	n, l := source, uint64(refNoLine)
	if i := strings.LastIndexByte(source, ':'); i >= 0 {
		v, err := strconv.ParseUint(source[i+1:], 10, 32)
		// Only a canonical number round-trips; "x:007" stays whole.
		if err == nil && v < refNoLine && strconv.FormatUint(v, 10) == source[i+1:] {
			n, l = source[:i], v
		}
	}
	id, known := t.ids[n]
	if !known {
		if len(t.names) >= maxNames {
			return 0, 0, false
		}
		id = uint32(len(t.names))
		t.names = append(t.names, n)
		t.ids[n] = id
	}
	return id, uint32(l), true
}

func (t *Targets) source(idx uint32) string {
	if idx >= refIndexUnknown || idx >= t.src.n {
		return "an earlier entry"
	}
	name, line := t.src.lookup(idx)
	if line == refNoLine {
		return t.names[name]
	}
	return t.names[name] + ":" + strconv.FormatUint(uint64(line), 10)
}
