package cmd

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/multiget/multiget/internal/list"
	"github.com/multiget/multiget/internal/metalink"
	"github.com/multiget/multiget/internal/naming"
)

// itemReader is what produce reads entries from: a list or a Metalink.
type itemReader interface {
	Next() (list.Item, error)
	Buffered() bool
}

func newReader(o *Options, s source) itemReader {
	if s.meta {
		return &metaItems{o: o, name: s.name, r: metalink.NewReader(s.r)}
	}
	p := list.NewParser(s.name, s.r)
	if o.FailedList != "" {
		p.KeepText() // an invalid entry is written back as it was
	}
	return p
}

// metaItems turns the <file> elements of a Metalink into list items, so
// that each is checked and named as a list line with the same URLs, out=
// and checksums would be.
type metaItems struct {
	o    *Options
	name string
	r    *metalink.Reader
}

func (m *metaItems) Buffered() bool { return m.r.Buffered() }

func (m *metaItems) Next() (list.Item, error) {
	f, err := m.r.Next()
	if err != nil {
		return list.Item{}, err
	}
	it := list.Item{Source: m.name + ":" + strconv.Itoa(f.Line), Line: f.Line, Err: f.Err}
	urls := allowedURLs(f.URLs, m.o.protocols)
	switch {
	case it.Err != nil:
		return it, nil
	case len(urls) == 0:
		it.Err = fmt.Errorf("no <url> of <file name=%q> has a protocol allowed by --proto (%s)", f.Name, strings.Join(m.o.protocols, ","))
		return it, nil
	}
	if _, err := naming.CleanOut(f.Name); err != nil {
		// The name is refused by out='s rules, which its message states.
		it.Err = fmt.Errorf("<file name=%q> is not a safe name: %v", f.Name, err)
		return it, nil
	}
	it.URL, it.Mirrors = urls[0], urls[1:]
	it.Options = map[string]string{"out": f.Name}
	for algo, hex := range f.Hashes {
		it.Options[algo] = strings.TrimSpace(hex)
	}
	if f.Size >= 0 {
		it.Options["size"] = strconv.FormatInt(f.Size, 10)
	}
	return it, nil
}

// allowedURLs keeps the URLs whose protocol --proto allows: a Metalink
// lists every way to the file (rsync, magnet, ...), and one multiget does
// not take is no mistake of the entry.
func allowedURLs(urls []string, protocols []string) []string {
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			out = append(out, raw) // refused, with its reason, as a list URL would be
			continue
		}
		for _, p := range protocols {
			if strings.EqualFold(p, u.Scheme) {
				out = append(out, raw)
				break
			}
		}
	}
	return out
}
