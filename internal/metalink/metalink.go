// Package metalink reads Metalink 4 documents (RFC 5854) as a stream of
// files.
//
// A Reader holds one <file> element at a time (at most MaxFile bytes of
// it), so a document listing a million files is read in constant memory.
//
// # What is read
//
//   - The root must be <metalink> in the namespace
//     urn:ietf:params:xml:ns:metalink. A Metalink 3 document
//     (http://www.metalinker.org/) is refused, naming the version.
//   - Each <file> child of the root is one File: its name attribute, its
//     <url> children ordered by their priority attribute (1 is first;
//     equal priorities keep document order; a missing or malformed
//     priority sorts after every valid one; location is not used), its
//     <hash> children whose type is sha-256, sha-512, sha-1 or md5 (others,
//     such as sha-384, are ignored; of one type the first is kept), and its
//     <size>. <metaurl>, <pieces> and the other elements are skipped.
//   - Only XML's five predefined entities and character references are
//     expanded: a DTD or any other <!...> declaration is refused, so no
//     entity can expand into more text than the document holds, nor read
//     a file.
//
// Problems of one <file> (no name, no <url>, a bad <size>) come back as
// File.Err and reading goes on; a document that is not well-formed XML, or
// not Metalink 4, is an *Error naming its line, after which Next returns
// that error again.
package metalink

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Namespace is Metalink 4's XML namespace (RFC 5854, section 4).
const Namespace = "urn:ietf:params:xml:ns:metalink"

const namespaceV3 = "http://www.metalinker.org/"

// MaxFile bounds the bytes of one <file> element: the part of the document
// held in memory at once.
const MaxFile = 4 << 20

// lastPriority sorts URLs without a valid priority after every valid one
// (RFC 5854 section 4.2.16.2 allows 1 to 999999).
const lastPriority = 1000000

// File is one <file> element.
type File struct {
	// Line is the line of the <file> element's start tag, 1-based.
	Line int
	// Name is the name attribute, unchecked: the caller makes it a safe
	// path.
	Name string
	// URLs are the <url> values, trimmed, first the one to try first.
	URLs []string
	// Hashes maps multiget's algorithm names (sha256, sha512, sha1, md5)
	// to the hex value given, unchecked; nil when none.
	Hashes map[string]string
	// Size is the <size> in bytes, -1 when absent.
	Size int64
	// Err, when set, makes the file an invalid entry; it says what is
	// wrong but not where (Line does).
	Err error
}

// Error is a document that cannot be read as Metalink 4.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// hashNames maps RFC 5854's hash types (the IANA "Hash Function Textual
// Names" registry) to multiget's.
var hashNames = map[string]string{
	"sha-256": "sha256",
	"sha-512": "sha512",
	"sha-1":   "sha1",
	"md5":     "md5",
}

// Reader reads the files of one document.
type Reader struct {
	br   *bufio.Reader
	d    *xml.Decoder
	root bool  // the root's start tag has been read
	err  error // sticky: io.EOF or the *Error
}

// NewReader returns a Reader of the document r.
func NewReader(r io.Reader) *Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	d := xml.NewDecoder(br)
	d.Strict = true
	// No Entity map and no CharsetReader: only the predefined entities,
	// and only UTF-8 (or a declaration naming it) is read.
	return &Reader{br: br, d: d}
}

// Buffered reports whether the next call to Next can likely return without
// reading the input again (and so without blocking on a pipe).
func (r *Reader) Buffered() bool { return r.br.Buffered() > 0 || r.err != nil }

// Next returns the next file. At the end of the document it returns io.EOF;
// any other error (an *Error, or the input's read error) ends the reading.
func (r *Reader) Next() (File, error) {
	if r.err != nil {
		return File{}, r.err
	}
	f, err := r.next()
	if err != nil {
		r.err = err
	}
	return f, err
}

func (r *Reader) next() (File, error) {
	for {
		tok, err := r.d.Token()
		if err == io.EOF {
			if !r.root {
				return File{}, r.fail("no <metalink> element: the file is empty or not a Metalink")
			}
			return File{}, io.EOF
		}
		if err != nil {
			return File{}, r.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return File{}, r.fail("a DTD or <!...> declaration is not allowed in a Metalink: remove it")
		case xml.StartElement:
			if !r.root {
				if err := r.checkRoot(t); err != nil {
					return File{}, err
				}
				r.root = true
				continue
			}
			if t.Name.Space == Namespace && t.Name.Local == "file" {
				return r.file(t)
			}
			if err := r.skip(); err != nil {
				return File{}, err
			}
		case xml.EndElement:
			// The root's end: the decoder has checked it matches. Only
			// comments and blanks may follow.
			if err := r.trailer(); err != nil {
				return File{}, err
			}
			return File{}, io.EOF
		}
	}
}

func (r *Reader) checkRoot(t xml.StartElement) error {
	switch {
	case t.Name.Local == "metalink" && t.Name.Space == Namespace:
		return nil
	case t.Name.Local == "metalink" && t.Name.Space == namespaceV3:
		return r.fail("a Metalink 3 document (" + namespaceV3 + "): multiget reads Metalink 4 (RFC 5854, .meta4)")
	}
	return r.fail(fmt.Sprintf("the root element is <%s>, not <metalink xmlns=%q>: not a Metalink 4 document", t.Name.Local, Namespace))
}

func (r *Reader) trailer() error {
	for {
		tok, err := r.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return r.xmlErr(err)
		}
		switch tok.(type) {
		case xml.StartElement, xml.Directive:
			return r.fail("content after </metalink>: a document has one root element")
		}
	}
}

// skip skips the element just started, refusing declarations inside it.
func (r *Reader) skip() error {
	for depth := 1; depth > 0; {
		tok, err := r.d.Token()
		if err != nil {
			return r.xmlErr(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.Directive:
			return r.fail("a DTD or <!...> declaration is not allowed in a Metalink: remove it")
		}
	}
	return nil
}

type prioritized struct {
	url  string
	prio int
}

// file reads the <file> element just started.
func (r *Reader) file(start xml.StartElement) (File, error) {
	line, _ := r.d.InputPos()
	begin := r.d.InputOffset()
	f := File{Line: line, Size: -1}
	hasName := false
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "name" {
			f.Name, hasName = a.Value, true
		}
	}
	var urls []prioritized
	var child *xml.StartElement // a direct child in the namespace, being read
	var text strings.Builder
	var sizeErr error
	sizes := 0
	for depth := 0; ; {
		tok, err := r.d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return File{}, r.xmlErr(err)
		}
		if r.d.InputOffset()-begin > MaxFile {
			return File{}, r.fail(fmt.Sprintf("the <file> element of line %d is longer than %d MiB", line, MaxFile>>20))
		}
		switch t := tok.(type) {
		case xml.Directive:
			return File{}, r.fail("a DTD or <!...> declaration is not allowed in a Metalink: remove it")
		case xml.StartElement:
			depth++
			if depth == 1 && t.Name.Space == Namespace {
				c := t.Copy()
				child = &c
				text.Reset()
			}
		case xml.CharData:
			if depth == 1 && child != nil {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 0 {
				switch {
				case !hasName:
					f.Err = errors.New(`<file> has no name attribute: give it name="PATH"`)
				case sizeErr != nil:
					f.Err = sizeErr
				case len(urls) == 0:
					f.Err = errors.New("<file> has no <url>")
				}
				sort.SliceStable(urls, func(i, j int) bool { return urls[i].prio < urls[j].prio })
				for _, u := range urls {
					f.URLs = append(f.URLs, u.url)
				}
				return f, nil
			}
			if depth == 1 && child != nil {
				v := strings.TrimSpace(text.String())
				switch child.Name.Local {
				case "url":
					if v != "" {
						urls = append(urls, prioritized{v, priority(child.Attr)})
					}
				case "hash":
					if algo, ok := hashNames[strings.ToLower(attr(child.Attr, "type"))]; ok {
						if _, dup := f.Hashes[algo]; !dup {
							if f.Hashes == nil {
								f.Hashes = map[string]string{}
							}
							f.Hashes[algo] = v
						}
					}
				case "size":
					sizes++
					n, err := strconv.ParseInt(v, 10, 64)
					switch {
					case sizes > 1:
						sizeErr = errors.New("<file> has more than one <size>")
					case err != nil || n < 0:
						sizeErr = fmt.Errorf("<size> %q is not a number of bytes", clip(v))
					default:
						f.Size = n
					}
				}
				child = nil
			}
			depth--
		}
	}
}

func attr(as []xml.Attr, name string) string {
	for _, a := range as {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func priority(as []xml.Attr) int {
	p, err := strconv.Atoi(strings.TrimSpace(attr(as, "priority")))
	if err != nil || p < 1 || p >= lastPriority {
		return lastPriority
	}
	return p
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func (r *Reader) fail(msg string) error {
	line, _ := r.d.InputPos()
	return &Error{Line: line, Msg: msg}
}

// xmlErr makes a decoder error an *Error with its line; a read error of
// the input is returned as it is.
func (r *Reader) xmlErr(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: se.Line, Msg: se.Msg}
	}
	if err == io.ErrUnexpectedEOF {
		return r.fail("the document ends inside an element")
	}
	var ue xml.UnmarshalError
	if errors.As(err, &ue) {
		return r.fail(string(ue))
	}
	if strings.HasPrefix(err.Error(), "xml: ") {
		// The decoder's own refusals, e.g. an encoding other than UTF-8.
		return r.fail(strings.TrimPrefix(err.Error(), "xml: "))
	}
	return err
}

// Count returns the number of files Next would return for r, or the error
// that would stop it.
func Count(r io.Reader) (int, error) {
	mr := NewReader(r)
	for n := 0; ; n++ {
		if _, err := mr.Next(); err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
	}
}
