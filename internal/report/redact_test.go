package report

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://user:secret@h/x", "http://user:***@h/x"},
		{"https://u:p%40ss@h:8443/a?b=c@d", "https://u:***@h:8443/a?b=c@d"},
		{"ftp://u:p:q@h", "ftp://u:***@h"},
		{"http://user@h/x", "http://user@h/x"},       // no password
		{"http://h/x?u=a:b@c", "http://h/x?u=a:b@c"}, // an @ in the query is not user information
		{"http://h/p:q@r", "http://h/p:q@r"},         // nor in the path
		{"not a url", "not a url"},
		{"", ""},
	} {
		if got := RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Whatever the input, a password between "://user:" and "@" never survives.
func FuzzRedactURL(f *testing.F) {
	f.Add("http", "user", "secret", "h/x")
	f.Add("https", "u", "p:q", "h:1/?a@b")
	f.Fuzz(func(t *testing.T, scheme, user, pass, tail string) {
		if pass == "" || strings.ContainsAny(user+pass, ":@/?#") || strings.ContainsAny(scheme, ":/") ||
			strings.ContainsAny(tail, "@") || strings.Contains(pass, "***") {
			return
		}
		s := scheme + "://" + user + ":" + pass + "@" + tail
		if got := RedactURL(s); strings.Contains(got, ":"+pass+"@") || !strings.HasPrefix(got, scheme+"://"+user+":***@") {
			t.Fatalf("RedactURL(%q) = %q", s, got)
		}
	})
}
