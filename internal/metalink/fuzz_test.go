package metalink

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func FuzzReader(f *testing.F) {
	f.Add(head + `<file name="a"><size>3</size><hash type="sha-1">ab</hash><url priority="2">http://a/</url><url>http://b/</url></file></metalink>`)
	f.Add(head + `<file name="../x"><url>http://a/</url></file><file><pieces><hash/></pieces></file>`)
	f.Add("<!DOCTYPE x>" + head)
	f.Fuzz(func(t *testing.T, doc string) {
		r := NewReader(strings.NewReader(doc))
		n, last := 0, 0
		for {
			fl, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var me *Error
				if !errors.As(err, &me) || me.Line < 1 {
					t.Fatalf("error %v is not an *Error with a line", err)
				}
				break
			}
			n++
			if fl.Line < last || fl.Line < 1 {
				t.Fatalf("file %d at line %d after line %d", n, fl.Line, last)
			}
			last = fl.Line
			if fl.Err == nil && (len(fl.URLs) == 0 || fl.Size < -1) {
				t.Fatalf("valid file with no URL or size %d: %+v", fl.Size, fl)
			}
			for k := range fl.Hashes {
				if k != "sha256" && k != "sha512" && k != "sha1" && k != "md5" {
					t.Fatalf("hash algorithm %q", k)
				}
			}
		}
		c, err := Count(strings.NewReader(doc))
		if c != n || (err == nil) != (r.err == io.EOF) {
			t.Fatalf("Count = %d, %v; Next gave %d files, ending %v", c, err, n, r.err)
		}
	})
}
