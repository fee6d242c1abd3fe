// Package sums reads checksum files in the formats sha256sum and friends
// write (GNU "HEX  NAME" and "HEX *NAME", BSD "SHA256 (NAME) = HEX"), and
// checks checksum values given in lists.
package sums

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Sum is one expected digest.
type Sum struct {
	Algo string // sha256, sha512, sha1 or md5
	Hex  string // lowercase
}

// Algos are the accepted algorithms with their digest length in hex digits.
var Algos = map[string]int{"sha256": 64, "sha512": 128, "sha1": 40, "md5": 32}

// Check validates hex as a digest of algo and returns it lowercased.
func Check(algo, hex string) (string, error) {
	n, ok := Algos[algo]
	if !ok {
		return "", fmt.Errorf("unknown checksum algorithm %q (known: md5, sha1, sha256, sha512)", algo)
	}
	if len(hex) != n {
		return "", fmt.Errorf("%s must be %d hex digits, got %d", algo, n, len(hex))
	}
	for _, c := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return "", fmt.Errorf("%s %q is not hexadecimal", algo, hex)
		}
	}
	return strings.ToLower(hex), nil
}

// File maps output names to their expected digests.
type File struct {
	byName map[string][]Sum
	// byBase maps a base name to the one listed path having it, or to ""
	// when two listed paths share it (then only exact paths match).
	byBase map[string]string
}

// Lookup returns the digests listed for rel (a slash-separated path under
// the output directory): an exact match first, else the entry listed under
// the same base name, when exactly one listed path has that base name.
func (f *File) Lookup(rel string) []Sum {
	if f == nil {
		return nil
	}
	rel = path.Clean(rel)
	if s, ok := f.byName[rel]; ok {
		return s
	}
	if name := f.byBase[path.Base(rel)]; name != "" {
		return f.byName[name]
	}
	return nil
}

// Merge returns the union of f and g; g wins where both list a name.
// Either may be nil.
func (f *File) Merge(g *File) *File {
	if f == nil {
		return g
	}
	if g == nil {
		return f
	}
	for name, list := range g.byName {
		for _, s := range list {
			f.add(name, s)
		}
	}
	return f
}

// add lists s for name, replacing an earlier digest of the same algorithm,
// and notes name under its base name (or that the base name is ambiguous).
func (f *File) add(name string, s Sum) {
	f.byName[name] = appendSum(f.byName[name], s)
	b := path.Base(name)
	if prev, seen := f.byBase[b]; !seen {
		f.byBase[b] = name
	} else if prev != name {
		f.byBase[b] = ""
	}
}

// Parse reads a checksum file. The algorithm of a GNU-style line is told
// by the digest's length. Blank lines and # comments are skipped; any other
// line that is not a checksum line is an error naming name:LINE.
func Parse(name string, r io.Reader) (*File, error) {
	f := &File{byName: map[string][]Sum{}, byBase: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if t := strings.TrimSpace(text); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		file, sum, err := parseLine(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		f.add(path.Clean(file), sum)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return f, nil
}

// appendSum adds s, replacing an earlier digest of the same algorithm.
func appendSum(list []Sum, s Sum) []Sum {
	for i := range list {
		if list[i].Algo == s.Algo {
			list[i] = s
			return list
		}
	}
	return append(list, s)
}

func parseLine(text string) (string, Sum, error) {
	// BSD style: ALGO (NAME) = HEX
	if i := strings.Index(text, " ("); i > 0 && !strings.ContainsAny(text[:i], " \t") {
		if j := strings.LastIndex(text, ") = "); j > i {
			algo := strings.ToLower(strings.ReplaceAll(text[:i], "-", ""))
			hex, err := Check(algo, strings.TrimSpace(text[j+4:]))
			if err != nil {
				return "", Sum{}, err
			}
			name := text[i+2 : j]
			if name == "" {
				return "", Sum{}, fmt.Errorf("no file name")
			}
			return name, Sum{Algo: algo, Hex: hex}, nil
		}
	}
	// GNU style: HEX, two spaces or " *", NAME; a leading backslash marks
	// a name with \\ and \n escapes.
	escaped := strings.HasPrefix(text, "\\")
	if escaped {
		text = text[1:]
	}
	hex, rest, ok := strings.Cut(text, " ")
	if !ok || len(rest) < 2 || (rest[0] != ' ' && rest[0] != '*') {
		return "", Sum{}, fmt.Errorf("not a checksum line: want \"HEX  NAME\" or \"ALGO (NAME) = HEX\"")
	}
	name := rest[1:]
	if escaped {
		name = strings.NewReplacer(`\\`, `\`, `\n`, "\n").Replace(name)
	}
	var algo string
	for a, n := range Algos {
		if len(hex) == n {
			algo = a
		}
	}
	if algo == "" {
		return "", Sum{}, fmt.Errorf("a digest of %d hex digits matches no known algorithm (md5, sha1, sha256, sha512)", len(hex))
	}
	h, err := Check(algo, hex)
	if err != nil {
		return "", Sum{}, err
	}
	if name == "" {
		return "", Sum{}, fmt.Errorf("no file name")
	}
	return name, Sum{Algo: algo, Hex: h}, nil
}
