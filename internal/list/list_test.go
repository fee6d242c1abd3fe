package list

import (
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// want is an expected Item; errSub is a substring of Err ("" for none).
type want struct {
	line    int
	url     string
	text    string // Item.URLLine, checked when set
	opts    map[string]string
	errSub  string
	mirrors []string
}

func parseAll(t *testing.T, name, in string) []Item {
	t.Helper()
	p := NewParser(name, strings.NewReader(in))
	var items []Item
	for {
		it, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: unexpected read error %v", err)
		}
		items = append(items, it)
	}
	if _, err := p.Next(); err != io.EOF {
		t.Fatalf("Next after EOF = %v, want io.EOF again", err)
	}
	return items
}

func check(t *testing.T, name, in string, wants []want) {
	t.Helper()
	items := parseAll(t, name, in)
	if len(items) != len(wants) {
		t.Fatalf("got %d items, want %d: %+v", len(items), len(wants), items)
	}
	for i, w := range wants {
		it := items[i]
		if it.Line != w.line {
			t.Errorf("item %d: Line = %d, want %d", i, it.Line, w.line)
		}
		if src := name + ":" + strconv.Itoa(w.line); it.Source != src {
			t.Errorf("item %d: Source = %q, want %q", i, it.Source, src)
		}
		if w.errSub != "" {
			if it.Err == nil || !strings.Contains(it.Err.Error(), w.errSub) {
				t.Errorf("item %d: Err = %v, want it to contain %q", i, it.Err, w.errSub)
			}
			if w.text != "" && it.URLLine != w.text {
				t.Errorf("item %d: URLLine = %q, want %q", i, it.URLLine, w.text)
			}
			continue
		}
		if it.Err != nil {
			t.Errorf("item %d: unexpected Err %v", i, it.Err)
		}
		if it.URL != w.url {
			t.Errorf("item %d: URL = %q, want %q", i, it.URL, w.url)
		}
		if !reflect.DeepEqual(it.Options, w.opts) {
			t.Errorf("item %d: Options = %#v, want %#v", i, it.Options, w.opts)
		}
		if !reflect.DeepEqual(it.Mirrors, w.mirrors) {
			t.Errorf("item %d: Mirrors = %q, want %q", i, it.Mirrors, w.mirrors)
		}
	}
	n, err := Count(strings.NewReader(in))
	if err != nil || n != len(wants) {
		t.Errorf("Count = %d, %v; want %d, nil", n, err, len(wants))
	}
}

func out(v string) map[string]string { return map[string]string{"out": v} }

func TestParser(t *testing.T) {
	long := strings.Repeat("x", MaxLine+1)
	tests := []struct {
		name  string
		in    string
		wants []want
	}{
		{"empty input", "", nil},
		{"only blanks and comments", "\n   \n\t\n# c\n   # indented comment\n", nil},
		{"one URL without final newline", "http://a/x", []want{{line: 1, url: "http://a/x"}}},
		{"URLs with blank and comment lines between", "http://a/1\n\n# c\nhttp://a/2\n", []want{
			{line: 1, url: "http://a/1"}, {line: 4, url: "http://a/2"}}},
		{"CRLF line endings", "http://a/1\r\nhttp://a/2 out=b\r\n\r\n", []want{
			{line: 1, url: "http://a/1"}, {line: 2, url: "http://a/2", opts: out("b")}}},
		{"stray CR before CRLF counts as a blank", "http://a/1\r\r\n", []want{{line: 1, url: "http://a/1"}}},
		{"BOM at start is ignored", "\xef\xbb\xbfhttp://a/1\n", []want{{line: 1, url: "http://a/1"}}},
		{"BOM before comment", "\xef\xbb\xbf# c\nhttp://a/1\n", []want{{line: 2, url: "http://a/1"}}},
		{"BOM later is not stripped", "http://a/1\n\xef\xbb\xbfhttp://a/2\n", []want{
			{line: 1, url: "http://a/1"}, {line: 2, url: "\xef\xbb\xbfhttp://a/2"}}},
		{"options on the URL line", "http://a/1 \t out=x/y.bin  \n", []want{{line: 1, url: "http://a/1", opts: out("x/y.bin")}}},
		{"value may contain =", "http://a/1 out=a=b\n", []want{{line: 1, url: "http://a/1", opts: out("a=b")}}},
		{"option block under URL", "http://a/1\n  out=f\nhttp://a/2\n", []want{
			{line: 1, url: "http://a/1", opts: out("f")}, {line: 3, url: "http://a/2"}}},
		{"tab-indented option block", "http://a/1\n\tout=f\n", []want{{line: 1, url: "http://a/1", opts: out("f")}}},
		{"comment inside block keeps it going", "http://a/1\n# note\n  out=f\n", []want{
			{line: 1, url: "http://a/1", opts: out("f")}}},
		{"blank line ends block", "http://a/1\n\n  out=f\n", []want{
			{line: 1, url: "http://a/1"}, {line: 3, errSub: "option line has no URL above it"}}},
		{"whitespace-only line ends block", "http://a/1\n \t \n  out=f\n", []want{
			{line: 1, url: "http://a/1"}, {line: 3, errSub: "option line has no URL above it"}}},
		{"orphan option line at start", "  out=f\nhttp://a/1\n", []want{
			{line: 1, errSub: "option line has no URL above it"}, {line: 2, url: "http://a/1"}}},
		{"option lines under an orphan give one item", "  out=f\n  bad\n\thttp=1\n\nhttp://a/1\n", []want{
			{line: 1, errSub: "option line has no URL above it"}, {line: 5, url: "http://a/1"}}},
		{"indented URL line", "  http://a/1\n  out=f\n  https://a/2?q=1\n", []want{
			{line: 1, url: "http://a/1", opts: out("f")}, {line: 3, url: "https://a/2?q=1"}}},
		{"indented field with = before :// is an option", "http://a/1\n  out=http://b\n", []want{
			{line: 1, url: "http://a/1", opts: out("http://b")}}},
		{"field without =", "http://a/1 foo\nhttp://a/2\n", []want{
			{line: 1, errSub: `unknown text "foo": options are key=value; write spaces inside a URL as %20`},
			{line: 2, url: "http://a/2"}}},
		{"a line that is no URL keeps its whole text", "not a  url \t\n", []want{
			{line: 1, text: "not a  url", errSub: "not a URL: a line holds a URL (https://HOST/PATH), then key=value options"}}},
		{"text after a URL keeps the whole line", "http://a/1 b c\n", []want{
			{line: 1, text: "http://a/1 b c", errSub: `unknown text "b"`}}},
		{"unknown key names known ones", "http://a/1 dir=x\n", []want{{line: 1, errSub: `unknown option "dir" (known keys: md5, mirror, out, sha1, sha256, sha512, size)`}}},
		{"empty key", "http://a/1 =x\n", []want{{line: 1, errSub: "has no key"}}},
		{"empty value", "http://a/1 out=\n", []want{{line: 1, errSub: `option "out" has an empty value`}}},
		{"duplicate key on URL line", "http://a/1 out=a out=b\n", []want{{line: 1, errSub: `option "out" given twice`}}},
		{"duplicate key across block", "http://a/1 out=a\n  out=b\nhttp://a/2\n", []want{
			{line: 1, errSub: `line 2: option "out" given twice`}, {line: 3, url: "http://a/2"}}},
		{"error on option line names its line", "http://a/1\n\n\nhttp://a/2\n # c\n  out=a zz\n", []want{
			{line: 1, url: "http://a/1"}, {line: 4, errSub: `line 6: unknown text "zz"`}}},
		{"errors keep later entries flowing", "http://a/1 x\n  =\n  out=\nhttp://a/2 out=z\n  y\nhttp://a/3\n", []want{
			{line: 1, errSub: `unknown text "x"`},
			{line: 4, errSub: `line 5: unknown text "y"`},
			{line: 6, url: "http://a/3"}}},
		{"mirror options on the URL line and under it", "http://a/1 mirror=http://b/1 out=f\n  mirror=ftp://c/1\n\tmirror=http://d/1 sha1=ab\n", []want{
			{line: 1, url: "http://a/1", opts: map[string]string{"out": "f", "sha1": "ab"}, mirrors: []string{"http://b/1", "ftp://c/1", "http://d/1"}}}},
		{"aria2 tab-separated mirrors", "http://a/1\thttp://b/1\thttps://c/1?x=1\n\tout=f\nhttp://a/2\n", []want{
			{line: 1, url: "http://a/1", opts: out("f"), mirrors: []string{"http://b/1", "https://c/1?x=1"}},
			{line: 3, url: "http://a/2"}}},
		{"bare URL after options and on option lines", "http://a/1 out=f http://b/1\n  sha1=ab http://c/1 mirror=http://d/1\n", []want{
			{line: 1, url: "http://a/1", opts: map[string]string{"out": "f", "sha1": "ab"}, mirrors: []string{"http://b/1", "http://c/1", "http://d/1"}}}},
		{"mirror value with = is a mirror option", "http://a/1 mirror=http://b/?a=b\n", []want{
			{line: 1, url: "http://a/1", mirrors: []string{"http://b/?a=b"}}}},
		{"empty mirror", "http://a/1 mirror=\n", []want{{line: 1, errSub: `option "mirror" has an empty value`}}},
		{"URL line starting with form feed", "\fhttp://a/1\n", []want{{line: 1, url: "http://a/1"}}},
		{"long URL line", long + "\nhttp://a/2\n", []want{
			{line: 1, errSub: "line longer than 1 MiB"}, {line: 2, url: "http://a/2"}}},
		{"long URL line swallows its block", long + "\n  out=f\nhttp://a/2\n", []want{
			{line: 1, errSub: "line longer than 1 MiB"}, {line: 3, url: "http://a/2"}}},
		{"long line without newline at EOF", long, []want{{line: 1, errSub: "line longer than 1 MiB"}}},
		{"long option line invalidates its entry", "http://a/1\n  out=" + long + "\nhttp://a/2\n", []want{
			{line: 1, errSub: "line 2: line longer than 1 MiB"}, {line: 3, url: "http://a/2"}}},
		{"long comment is ignored", "#" + long + "\nhttp://a/2\n", []want{{line: 2, url: "http://a/2"}}},
		{"long blank line is an error", strings.Repeat(" ", MaxLine+1) + "\n", []want{
			{line: 1, errSub: "option line has no URL above it"}}},
		{"line of exactly MaxLine is fine", strings.Repeat("y", MaxLine) + "\r\n", []want{
			{line: 1, url: strings.Repeat("y", MaxLine)}}},
		{"MaxLine plus CR is fine", strings.Repeat("y", MaxLine) + "\r", []want{
			{line: 1, url: strings.Repeat("y", MaxLine)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, "l.txt", tt.in, tt.wants) })
	}
}

func TestSourceUsesName(t *testing.T) {
	check(t, "-", "\n\nhttp://a/1\n", []want{{line: 3, url: "http://a/1"}})
}

func TestOptionsNilWhenNone(t *testing.T) {
	items := parseAll(t, "x", "http://a/1\n")
	if items[0].Options != nil {
		t.Errorf("Options = %#v, want nil", items[0].Options)
	}
}

func TestReadErrorIsReturned(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("http://a/1\nhttp://a/2\n"), iotest.ErrReader(boom))
	p := NewParser("x", r)
	it, err := p.Next()
	if err != nil || it.URL != "http://a/1" {
		t.Fatalf("first Next = %+v, %v", it, err)
	}
	for i := 0; i < 2; i++ {
		if _, err := p.Next(); !errors.Is(err, boom) {
			t.Fatalf("Next = %v, want the read error (sticky)", err)
		}
	}
	if _, err := Count(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Errorf("Count error = %v, want boom", err)
	}
}

func TestOneByteReads(t *testing.T) {
	in := "\xef\xbb\xbfhttp://a/1\r\n  out=f\r\n\r\n  http://a/2 out=g\n"
	p := NewParser("x", iotest.OneByteReader(strings.NewReader(in)))
	var got []string
	for {
		it, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil || it.Err != nil {
			t.Fatalf("Next = %+v, %v", it, err)
		}
		got = append(got, it.URL+" "+it.Options["out"])
	}
	if w := []string{"http://a/1 f", "http://a/2 g"}; !reflect.DeepEqual(got, w) {
		t.Errorf("got %q, want %q", got, w)
	}
}

// TestHugeLineIsSkippedNotHeld feeds a line far longer than MaxLine from a
// reader that generates it, checking the buffer stays bounded.
func TestHugeLineIsSkippedNotHeld(t *testing.T) {
	huge := io.LimitReader(repeatReader('z'), 64<<20)
	r := io.MultiReader(huge, strings.NewReader("\nhttp://a/2\n"))
	p := NewParser("x", r)
	it, err := p.Next()
	if err != nil || !errors.Is(it.Err, errLong) {
		t.Fatalf("Next = %+v, %v; want long-line item", it, err)
	}
	if cap(p.buf) > 2*MaxLine+64<<10 {
		t.Errorf("line buffer grew to %d bytes", cap(p.buf))
	}
	it, err = p.Next()
	if err != nil || it.URL != "http://a/2" || it.Line != 2 {
		t.Fatalf("Next = %+v, %v", it, err)
	}
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestKnownListIsSorted(t *testing.T) {
	KnownOptions["zz"] = true
	KnownOptions["aa"] = true
	defer func() { delete(KnownOptions, "zz"); delete(KnownOptions, "aa") }()
	if got := knownList(); got != "aa, md5, mirror, out, sha1, sha256, sha512, size, zz" {
		t.Errorf("knownList = %q", got)
	}
	items := parseAll(t, "x", "http://a/1 aa=1\n  zz=2\n")
	if !reflect.DeepEqual(items[0].Options, map[string]string{"aa": "1", "zz": "2"}) {
		t.Errorf("Options = %v", items[0].Options)
	}
}

func TestKeepText(t *testing.T) {
	in := "\xef\xbb\xbfhttp://a/1 out=x\r\n  # c\r\n\tsha1=ab\n\n  out=orphan\n  more\nhttp://a/2 bad\n" + strings.Repeat("z", MaxLine+1) + "\n  out=y\n"
	p := NewParser("x", strings.NewReader(in))
	p.KeepText()
	var got []string
	for {
		it, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it.Text)
	}
	want := []string{"http://a/1 out=x\n\tsha1=ab", "  out=orphan\n  more", "http://a/2 bad", "  out=y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if items := parseAll(t, "x", in); items[0].Text != "" {
		t.Errorf("Text without KeepText = %q", items[0].Text)
	}
}
