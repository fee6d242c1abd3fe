package report

import "strings"

// RedactURL hides the password of a URL's user information
// (scheme://user:password@host/...) as "***", so that result lines, JSON
// and CI annotations never carry it: a list's credentials must not end up
// in a build log. The user name stays, to tell entries apart; anything
// that is not such a URL is returned as it is.
func RedactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	c := strings.Index(rest[:at], ":")
	if c < 0 {
		return s
	}
	return s[:i+3] + rest[:c] + ":***" + rest[at:]
}
