package naming

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

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
	if err := schemeless(raw); err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a valid URL: %v", err)
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

// schemeless explains a URL written without its scheme, which Go's parser
// would call a relative path ("example.com/a.iso") or fail on with a
// message about colons ("127.0.0.1:8080/x"): it says "no scheme" and
// suggests the URL in full, with http:// for a loopback or literal address
// or a port other than 443 (a local test server, most likely), https://
// for a named host. Text that has no host at all is "not a URL". nil when
// raw has a scheme, for url.Parse to check.
func schemeless(raw string) error {
	if strings.Contains(raw, "://") {
		return nil
	}
	rest := strings.TrimPrefix(raw, "//")
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	if c := strings.IndexByte(auth, ':'); c >= 0 && !strings.Contains(auth, "@") &&
		!strings.HasPrefix(auth, "[") && (c == len(auth)-1 || strings.Trim(auth[c+1:], "0123456789") != "") {
		return nil // "file:/etc", "http:foo": a scheme, for url.Parse to judge
	}
	user, host := "", auth
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user, host = auth[:at+1], auth[at+1:]
	}
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return nil
		}
		name, port = host[:end+1], strings.TrimPrefix(host[end+1:], ":")
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i+1:]
	}
	if strings.Trim(port, "0123456789") != "" {
		return nil
	}
	bare := strings.Trim(name, "[]")
	ip := net.ParseIP(bare) != nil
	local := ip || strings.EqualFold(bare, "localhost")
	if !local && !strings.Contains(bare, ".") || bare == "" {
		return errors.New("not a URL: write it as https://HOST/PATH")
	}
	scheme := "https://"
	if local || port != "" && port != "443" {
		scheme = "http://"
	}
	if i := strings.IndexByte(user, ':'); i >= 0 {
		user = user[:i] + ":***@" // never echo a password
	}
	return fmt.Errorf("no scheme: did you mean %s%s%s%s?", scheme, user, host, rest[len(auth):])
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
