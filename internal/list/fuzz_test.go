package list

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"http://a/1\n  out=f\n",
		"\xef\xbb\xbf  out=x\r\n\r\n# c\n\thttp://b/ out=y out=y\n",
		"http://a/1 =\n \n \t x\n",
		"http://a/1\thttp://b/1 mirror=ftp://c/\n  mirror=x out=y\n\thttp://d/ http://e/\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := NewParser("f", strings.NewReader(in))
		n, last := 0, 0
		for {
			it, err := p.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read error from a strings.Reader: %v", err)
			}
			n++
			if it.Line <= last || it.Source != "f:"+strconv.Itoa(it.Line) {
				t.Fatalf("item %d: bad Line/Source %d %q (previous line %d)", n, it.Line, it.Source, last)
			}
			last = it.Line
			if it.Err == nil && (it.URL == "" || strings.ContainsAny(it.URL, " \t\n")) {
				t.Fatalf("valid item with bad URL %q", it.URL)
			}
			for k, v := range it.Options {
				if !KnownOptions[k] || k == "mirror" || v == "" {
					t.Fatalf("bad option %q=%q", k, v)
				}
			}
			for _, m := range it.Mirrors {
				if m == "" || strings.ContainsAny(m, " \t\n") {
					t.Fatalf("bad mirror %q", m)
				}
			}
		}
		c, err := Count(strings.NewReader(in))
		if err != nil || c != n {
			t.Fatalf("Count = %d, %v; Next returned %d items", c, err, n)
		}
	})
}
