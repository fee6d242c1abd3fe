// Package list reads multiget URL lists as a stream.
//
// Lists can hold millions of lines, so a Parser keeps only the entry being
// built and one line buffer (at most 1 MiB): memory does not grow with the
// length of the list.
//
// # Syntax
//
//   - One entry per line. Lines end in "\n"; one "\r" before it is dropped,
//     so CRLF files work. A UTF-8 byte order mark at the start of the stream
//     is ignored. The last line needs no "\n".
//   - Blanks are space, tab, "\v", "\f" and "\r". A line holding only blanks
//     is a blank line; a line whose first non-blank character is "#" is a
//     comment. Both are skipped, but a blank line ends an option block.
//   - A line starting at column 1 is a URL line: its first blank-separated
//     field is the URL, the other fields are key=value options, e.g.
//     "https://example.com/a.iso out=images/a.iso".
//   - A line starting with a space or tab, directly under a URL line, is an
//     option line (aria2 style): it holds one or more key=value options for
//     that URL. Comment lines inside the block do not end it; a blank line
//     does.
//   - An indented line whose first field contains "://" with no "=" before
//     it is a URL line, not an option line, so lists whose generator
//     indents every line still work (and indented URLs may have queries).
//   - An option line with no URL above it (first in the list, or after a
//     blank line) is an invalid entry of its own, "option line has no URL
//     above it", at its own line number; option lines directly under it
//     belong to that entry and add no further errors.
//   - A field after the URL that is not key=value makes the entry invalid;
//     when the first field has no "://", the error says the line is not a
//     URL.
//   - The option keys accepted are those in KnownOptions. A key may be
//     given once per entry, except mirror, and its value must not be
//     empty. Values cannot contain blanks.
//   - Mirrors (other URLs of the same file) are given as mirror=URL
//     options, repeatable, or aria2's way: further URLs on the URL line,
//     separated by blanks (aria2 writes TABs): after the first field of
//     a URL line, or anywhere on an option line but first, a field
//     containing "://" with no "=" before it is such a URL. Item.Mirrors
//     holds both kinds in the order they appear.
//   - A line longer than 1 MiB (without its line ending) is not held in
//     memory: only its first 1 MiB is used to tell what kind of line it is
//     and the rest is skipped. A too-long comment is ignored. Any other
//     too-long line, even one that starts with only blanks, makes an entry
//     invalid, "line longer than 1 MiB": at column 1 (or an indented URL)
//     a new entry of its own; an indented one the entry above it, or, with
//     none, it is an option line with no URL above it.
//
// An entry is complete only when the next URL line, a blank line or the
// end of the input is seen, because option lines may follow it; that one
// pending entry is all the Parser holds.
//
// Errors in an entry never stop the parser: the entry comes back with Err
// set and the following entries are read as usual. URLs are not checked
// here; package naming does that.
package list

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// MaxLine is the longest line, in bytes without its line ending, that the
// parser accepts. Bounding it is what keeps memory use constant on hostile
// input such as a multi-gigabyte file with no newline.
const MaxLine = 1 << 20

// KnownOptions is the set of option keys accepted in lists. It is a set
// rather than a switch so that adding a key (checksums are planned) is a
// one-line change here; code that acts on a key looks it up in
// Item.Options. It must not be modified while parsers run.
var KnownOptions = map[string]bool{
	"out":    true,
	"sha256": true,
	"sha512": true,
	"sha1":   true,
	"md5":    true,
	"size":   true,
	"mirror": true,
}

// Item is one entry of a list.
type Item struct {
	// Source is "NAME:LINE" of the URL line, where NAME is the input name
	// as given to NewParser ("-" for stdin).
	Source string
	// Line is the 1-based line number of the URL line (of the option line
	// itself for an option line with no URL above it).
	Line int
	// URL is the first field of the URL line, unchecked.
	URL string
	// URLLine is the whole URL line, trimmed, when it has more than the
	// URL ("" otherwise): an invalid entry shows it, since "not a url" is
	// not the URL "not".
	URLLine string
	// Options holds the key=value options of the entry but mirror; nil
	// when none.
	Options map[string]string
	// Mirrors are the other URLs of the entry's file, unchecked, in the
	// order written; nil when none.
	Mirrors []string
	// Text is the entry's lines as written (its URL line and option lines,
	// without their endings, joined by "\n"; a line longer than MaxLine is
	// left out), only when the Parser was told to KeepText.
	Text string
	// Err, when non-nil, makes the entry invalid. Its message says what is
	// wrong and how to fix it, but not where: the caller prefixes Source.
	// Problems on an option line name that line, as Source names the URL
	// line. When Err is set, URL and Options hold whatever could be read
	// and should not be used.
	Err error
}

var (
	errLong   = errors.New("line longer than 1 MiB")
	errNotURL = errors.New("not a URL: a line holds a URL (https://HOST/PATH), then key=value options")
	errOrphan = errors.New("option line has no URL above it: put it directly under its URL line, with no blank line between")
)

// Parser reads Items from one list.
type Parser struct {
	name string
	r    *bufio.Reader
	line int
	buf  []byte

	pending    Item // the entry whose option lines may still follow
	hasPending bool

	err error // sticky: io.EOF or the read error, once seen

	// countOnly skips building strings and options: Count needs only the
	// number of entries, which does not depend on their content.
	countOnly bool
	keepText  bool
}

// KeepText makes the parser fill Item.Text, which costs a copy of every
// line.
func (p *Parser) KeepText() { p.keepText = true }

func (p *Parser) addText(it *Item, line []byte, long bool) {
	if !p.keepText || long {
		return
	}
	if it.Text != "" {
		it.Text += "\n"
	}
	it.Text += string(line)
}

// NewParser returns a parser reading the list r; name is used in the
// Source of its Items.
func NewParser(name string, r io.Reader) *Parser {
	return &Parser{name: name, r: bufio.NewReaderSize(r, 64<<10)}
}

// Buffered reports whether the next call to Next can likely return without
// reading the input again (and so without blocking on a pipe).
func (p *Parser) Buffered() bool { return p.r.Buffered() > 0 || p.err != nil }

// Next returns the next entry of the list. At the end of the list it
// returns io.EOF. Any other error is a failure to read the input itself;
// invalid entries are not errors, they come back with Item.Err set.
func (p *Parser) Next() (Item, error) {
	for {
		if p.err != nil {
			if p.err == io.EOF && p.hasPending {
				return p.flush(), nil
			}
			return Item{}, p.err
		}
		line, long, err := p.readLine()
		if err != nil {
			p.err = err
			continue
		}
		p.line++
		if p.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if it, ok := p.handle(line, long); ok {
			return it, nil
		}
	}
}

// Count returns the number of entries Next would return for r. It reads r
// once, without keeping more than a line, so it can size a progress bar
// before the list is parsed for real.
func Count(r io.Reader) (int, error) {
	p := NewParser("", r)
	p.countOnly = true
	n := 0
	for {
		_, err := p.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func (p *Parser) flush() Item {
	it := p.pending
	p.pending = Item{}
	p.hasPending = false
	return it
}

// readLine returns the next line without its ending. Of a line longer than
// MaxLine it returns the first MaxLine bytes and long=true, having read and
// dropped the rest chunk by chunk.
func (p *Parser) readLine() (line []byte, long bool, err error) {
	p.buf = p.buf[:0]
	// Room for a full-length line plus "\r\n", so that the ending can be
	// told apart from content.
	const keep = MaxLine + 2
	seen := false
	for {
		chunk, err := p.r.ReadSlice('\n')
		if len(chunk) > 0 {
			seen = true
			if !long {
				if room := keep - len(p.buf); len(chunk) > room {
					p.buf = append(p.buf, chunk[:room]...)
					long = true
				} else {
					p.buf = append(p.buf, chunk...)
				}
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && seen {
			break
		}
		if err != nil {
			return nil, false, err
		}
		break
	}
	line = p.buf
	if !long {
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
	}
	if len(line) > MaxLine {
		line, long = line[:MaxLine], true
	}
	return line, long, nil
}

type kind int

const (
	kindBlank kind = iota
	kindComment
	kindURL
	kindOption
)

func isBlank(r rune) bool {
	switch r {
	case ' ', '\t', '\v', '\f', '\r':
		return true
	}
	return false
}

func classify(line []byte) kind {
	rest := bytes.TrimLeftFunc(line, isBlank)
	switch {
	case len(rest) == 0:
		return kindBlank
	case rest[0] == '#':
		return kindComment
	case line[0] != ' ' && line[0] != '\t':
		return kindURL
	}
	first := rest
	if i := bytes.IndexFunc(rest, isBlank); i >= 0 {
		first = rest[:i]
	}
	if isURL(first) {
		return kindURL
	}
	return kindOption
}

// handle feeds one line to the state machine and returns an entry when
// the line completes one.
func (p *Parser) handle(line []byte, long bool) (Item, bool) {
	k := classify(line)
	if long && k == kindBlank {
		// Only the start of the line was looked at; the rest may well
		// be text, so a too-long blank line is never silently dropped.
		if line[0] == ' ' || line[0] == '\t' {
			k = kindOption
		} else {
			k = kindURL
		}
	}
	switch k {
	case kindBlank:
		if p.hasPending {
			return p.flush(), true
		}
	case kindURL:
		it := p.newItem()
		p.addText(&it, line, long)
		if long {
			it.Err = errLong
		} else if !p.countOnly {
			fields := bytes.FieldsFunc(line, isBlank)
			it.URL = string(fields[0])
			if len(fields) > 1 {
				it.URLLine = string(bytes.TrimFunc(line, isBlank))
			}
			p.addOptions(&it, fields[1:], 0)
			var te textError
			if errors.As(it.Err, &te) && !bytes.Contains(fields[0], []byte("://")) {
				it.Err = errNotURL
			}
		}
		prev, had := p.pending, p.hasPending
		p.pending, p.hasPending = it, true
		if had {
			return prev, true
		}
	case kindOption:
		if !p.hasPending {
			it := p.newItem()
			it.Err = errOrphan
			p.addText(&it, line, long)
			p.pending, p.hasPending = it, true
			break
		}
		p.addText(&p.pending, line, long)
		if p.pending.Err != nil || p.countOnly {
			break
		}
		if long {
			p.pending.Err = fmt.Errorf("line %d: %w", p.line, errLong)
			break
		}
		p.addOptions(&p.pending, bytes.FieldsFunc(line, isBlank), p.line)
	}
	return Item{}, false
}

func (p *Parser) newItem() Item {
	it := Item{Line: p.line}
	if !p.countOnly {
		it.Source = p.name + ":" + strconv.Itoa(p.line)
	}
	return it
}

// addOptions adds key=value fields to it, stopping at the first problem,
// which becomes it.Err. at is the line number of an option line, 0 when
// the fields are on the URL line itself (which Source already names).
func (p *Parser) addOptions(it *Item, fields [][]byte, at int) {
	for _, f := range fields {
		if isURL(f) {
			it.Mirrors = append(it.Mirrors, string(f))
			continue
		}
		if err := addOption(it, string(f)); err != nil {
			if at > 0 {
				err = fmt.Errorf("line %d: %w", at, err)
			}
			it.Err = err
			return
		}
	}
}

// isURL says whether field is a URL rather than an option: it contains
// "://" with no "=" before it.
func isURL(field []byte) bool {
	s := bytes.Index(field, []byte("://"))
	return s >= 0 && bytes.IndexByte(field[:s], '=') < 0
}

func addOption(it *Item, field string) error {
	key, value, ok := strings.Cut(field, "=")
	switch {
	case !ok:
		return textError(field)
	case key == "":
		return fmt.Errorf("option %q has no key: write key=value (known keys: %s)", field, knownList())
	case !KnownOptions[key]:
		return fmt.Errorf("unknown option %q (known keys: %s)", key, knownList())
	case value == "":
		return fmt.Errorf("option %q has an empty value: write %s=VALUE or leave it out", key, key)
	case key == "mirror":
		it.Mirrors = append(it.Mirrors, value)
		return nil
	}
	if _, dup := it.Options[key]; dup {
		return fmt.Errorf("option %q given twice: keep one", key)
	}
	if it.Options == nil {
		it.Options = make(map[string]string, 1)
	}
	it.Options[key] = value
	return nil
}

// textError is a field after the URL that is not key=value.
type textError string

func (e textError) Error() string {
	return fmt.Sprintf("unknown text %q: options are key=value; write spaces inside a URL as %%20", string(e))
}

func knownList() string {
	keys := make([]string, 0, len(KnownOptions))
	for k := range KnownOptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
