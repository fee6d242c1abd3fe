package metalink

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, doc string) ([]File, error) {
	t.Helper()
	r := NewReader(strings.NewReader(doc))
	var fs []File
	for {
		f, err := r.Next()
		if err == io.EOF {
			return fs, nil
		}
		if err != nil {
			if _, again := r.Next(); again != err {
				t.Errorf("Next after error = %v, want the same error again", again)
			}
			return fs, err
		}
		fs = append(fs, f)
	}
}

const head = `<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
`

func TestFiles(t *testing.T) {
	doc := head + `  <generator>test</generator>
  <file name="a/example.iso">
    <size>14</size>
    <identity>Example</identity>
    <hash type="sha-256">9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08</hash>
    <hash type="sha-384">ignored</hash>
    <hash type="MD5">098f6bcd4621d373cade4e832627b4f6</hash>
    <hash type="md5">ffffffffffffffffffffffffffffffff</hash>
    <pieces length="1" type="sha-1"><hash>aaaa</hash></pieces>
    <url location="de" priority="2">http://b.example/x</url>
    <url priority="1">
      http://a.example/x
    </url>
    <url>http://last.example/x</url>
    <url priority="2">http://c.example/x</url>
    <url priority="zero">http://bad-priority.example/x</url>
    <metaurl mediatype="torrent" priority="1">http://t.example/x.torrent</metaurl>
    <url priority="3"/>
  </file>
  <!-- a comment -->
  <file name="b">
    <url>ftp://f.example/b</url>
  </file>
</metalink>
`
	fs, err := readAll(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Line: 4, Name: "a/example.iso", Size: 14,
			URLs: []string{"http://a.example/x", "http://b.example/x", "http://c.example/x", "http://last.example/x", "http://bad-priority.example/x"},
			Hashes: map[string]string{
				"sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
				"md5":    "098f6bcd4621d373cade4e832627b4f6"}},
		{Line: 23, Name: "b", Size: -1, URLs: []string{"ftp://f.example/b"}},
	}
	if !reflect.DeepEqual(fs, want) {
		t.Errorf("got  %+v\nwant %+v", fs, want)
	}
	if n, err := Count(strings.NewReader(doc)); n != 2 || err != nil {
		t.Errorf("Count = %d, %v", n, err)
	}
}

func TestFileErrors(t *testing.T) {
	doc := head + `<file><url>http://a/1</url></file>
<file name="x"></file>
<file name="y"><size>-1</size><url>http://a/1</url></file>
<file name="z"><size>12</size><size>12</size><url>http://a/1</url></file>
<file name="ok"><url>http://a/2</url></file>
</metalink>`
	fs, err := readAll(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{"no name attribute", "has no <url>", `<size> "-1" is not a number of bytes`, "more than one <size>", ""}
	if len(fs) != len(wants) {
		t.Fatalf("got %d files, want %d", len(fs), len(wants))
	}
	for i, w := range wants {
		if fs[i].Line != 3+i {
			t.Errorf("file %d: Line %d, want %d", i, fs[i].Line, 3+i)
		}
		if w == "" {
			if fs[i].Err != nil {
				t.Errorf("file %d: unexpected Err %v", i, fs[i].Err)
			}
			continue
		}
		if fs[i].Err == nil || !strings.Contains(fs[i].Err.Error(), w) {
			t.Errorf("file %d: Err = %v, want %q", i, fs[i].Err, w)
		}
	}
}

func TestDocumentErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		files     int // read before the error
		line      int
		sub       string
	}{
		{"empty", "", 0, 1, "no <metalink> element"},
		{"not XML", "http://a/1\n", 0, 2, "no <metalink> element"},
		{"other root", `<feed xmlns="x"></feed>`, 0, 1, "the root element is <feed>"},
		{"no namespace", `<metalink><file name="a"><url>http://a/</url></file></metalink>`, 0, 1, "not a Metalink 4 document"},
		{"metalink 3", "<?xml version=\"1.0\"?>\n<metalink version=\"3.0\" xmlns=\"http://www.metalinker.org/\">", 0, 2, "Metalink 3"},
		{"DTD", "<?xml version=\"1.0\"?>\n<!DOCTYPE m [<!ENTITY x \"xxxxxxxx\">]>\n" + `<metalink xmlns="urn:ietf:params:xml:ns:metalink"/>`, 0, 2, "DTD"},
		{"DTD inside a file", head + `<file name="a"><!DOCTYPE x></file></metalink>`, 0, 3, "DTD"},
		{"unknown entity", head + `<file name="a&x;"><url>http://a/</url></file></metalink>`, 0, 3, "invalid character entity &x;"},
		{"unclosed tag", head + "<file name=\"a\"><url>http://a/</url></file>\n<file name=\"b\"><url>http://a/\n</file></metalink>", 1, 5, "element <url> closed by </file>"},
		{"truncated", head + "<file name=\"a\"><url>http://a/</url>\n", 0, 4, "unexpected EOF"},
		{"after root", head + "</metalink>\n<metalink/>", 0, 4, "content after </metalink>"},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><metalink xmlns="urn:ietf:params:xml:ns:metalink"/>`, 0, 1, "ISO-8859-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := readAll(t, tt.doc)
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error = %v, want an *Error", err)
			}
			if me.Line != tt.line || !strings.Contains(me.Msg, tt.sub) || len(fs) != tt.files {
				t.Errorf("error %q at line %d after %d files; want %q at line %d after %d", me.Msg, me.Line, len(fs), tt.sub, tt.line, tt.files)
			}
			if _, err := Count(strings.NewReader(tt.doc)); err == nil {
				t.Error("Count: no error")
			}
		})
	}
}

func TestEntitiesExpandOnlyTheFive(t *testing.T) {
	fs, err := readAll(t, head+`<file name="a&amp;b&#x41;&lt;"><url>http://a/?x=1&amp;y=2</url></file></metalink>`)
	if err != nil || len(fs) != 1 || fs[0].Name != "a&bA<" || fs[0].URLs[0] != "http://a/?x=1&y=2" {
		t.Fatalf("got %+v, %v", fs, err)
	}
}

func TestHugeFileElementIsRefused(t *testing.T) {
	doc := head + `<file name="a">` + strings.Repeat("<url>http://a/</url>", MaxFile/20+1) + "</file></metalink>"
	_, err := readAll(t, doc)
	var me *Error
	if !errors.As(err, &me) || !strings.Contains(me.Msg, "longer than 4 MiB") {
		t.Fatalf("error = %v", err)
	}
}

func TestReadErrorIsReturned(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader(head+`<file name="a"><url>http://a/</url></file>`), iotest.ErrReader(boom)))
	if f, err := r.Next(); err != nil || f.Name != "a" {
		t.Fatalf("Next = %+v, %v", f, err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("Next = %v, want the read error", err)
	}
}

func TestOneByteReads(t *testing.T) {
	doc := head + `<file name="a"><url>http://a/</url></file><file name="b"><url>http://b/</url></file></metalink>`
	r := NewReader(iotest.OneByteReader(strings.NewReader(doc)))
	var names []string
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("names = %q", names)
	}
}
