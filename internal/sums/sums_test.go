package sums

import (
	"strings"
	"testing"
)

const (
	h256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	hmd5 = "d41d8cd98f00b204e9800998ecf8427e"
)

func TestParse(t *testing.T) {
	in := "\ufeff# made by sha256sum\n" +
		h256 + "  a.tgz\r\n" +
		strings.ToUpper(hmd5) + " *dir/b.bin\n" +
		"\n" +
		"SHA256 (c d.txt) = " + h256 + "\n" +
		h256 + "  ./x/dup\n" +
		h256 + "  y/dup\n"
	f, err := Parse("SUMS", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, rel, algo, hex string
	}{
		{"gnu text mode", "a.tgz", "sha256", h256},
		{"gnu binary mode, uppercase hex", "dir/b.bin", "md5", hmd5},
		{"base name matches a listed path", "b.bin", "md5", hmd5},
		{"bsd style with a space in the name", "c d.txt", "sha256", h256},
		{"leading ./ is ignored", "x/dup", "sha256", h256},
		{"ambiguous base name does not match", "dup", "", ""},
		{"unlisted", "nope", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := f.Lookup(c.rel)
			if c.algo == "" {
				if got != nil {
					t.Fatalf("got %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Algo != c.algo || got[0].Hex != c.hex {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"not a checksum line", "hello world\n", "SUMS:1: not a checksum line"},
		{"odd digest length", "# c\nabc  f\n", "SUMS:2: a digest of 3 hex digits"},
		{"not hex", strings.Repeat("z", 64) + "  f\n", "SUMS:1: sha256"},
		{"bsd unknown algorithm", "CRC32 (f) = 1234\n", "SUMS:1: unknown checksum algorithm"},
		{"no name", h256 + "  \n", "SUMS:1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("SUMS", strings.NewReader(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	if h, err := Check("sha256", strings.ToUpper(h256)); err != nil || h != h256 {
		t.Fatal(h, err)
	}
	for _, bad := range [][2]string{{"sha256", h256[:10]}, {"crc", "00"}, {"md5", strings.Repeat("g", 32)}} {
		if _, err := Check(bad[0], bad[1]); err == nil {
			t.Errorf("Check(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(h256 + "  a\n")
	f.Add("SHA512 (x) = " + strings.Repeat("a", 128) + "\n")
	f.Add("\\" + hmd5 + "  a\\nb\n")
	f.Fuzz(func(t *testing.T, in string) {
		file, err := Parse("f", strings.NewReader(in))
		if err != nil {
			return
		}
		for name, list := range file.byName {
			if len(list) == 0 {
				t.Fatalf("%q has no sums", name)
			}
			for _, s := range list {
				if n, ok := Algos[s.Algo]; !ok || len(s.Hex) != n || strings.ToLower(s.Hex) != s.Hex {
					t.Fatalf("bad sum %+v", s)
				}
			}
			if got := file.Lookup(name); len(got) != len(list) {
				t.Fatalf("Lookup(%q) = %v", name, got)
			}
		}
	})
}
