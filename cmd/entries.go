package cmd

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/multiget/multiget/internal/engine"
	"github.com/multiget/multiget/internal/list"
	"github.com/multiget/multiget/internal/naming"
	"github.com/multiget/multiget/internal/sums"
)

// batchSize bounds how many entries travel to the engine in one channel
// operation. The first batch holds only as many as run at once (-j), so
// that the first transfers start as soon as those are read and named:
// 2,000 files of 8 KiB reached their first connect() about 2 ms sooner
// (10.9 against 12.9 ms after exec, medians of 21 runs; curl -Z, 6-7 ms).
const batchSize = 128

// produce turns the URL arguments and every list into entries, in order:
// each is validated, named, and checked against the targets claimed before
// it. Entries go out in batches, flushed when full or when reading on might
// block (a slow pipe on stdin must not hold back the entries already read).
// It stops when the run closes in, handing it the entries it holds. It
// returns how many entries it sent, whether it read every list to its end,
// and the first read error.
func produce(in *intake, o *Options, targets *naming.Targets, srcs []source, fl *failedList, out chan<- []engine.Entry) (int, bool, error) {
	n := 0
	// What can run at once, at most batchSize: over HTTP/2 a -j slot
	// carries --streams transfers.
	streams := o.Streams
	if streams < 1 {
		streams = engine.MaxStreams
	}
	size := min(max(o.Parallel, 1), batchSize) * min(streams, batchSize)
	size = min(size, batchSize)
	batch := make([]engine.Entry, 0, size)
	flush := func() bool {
		if len(batch) == 0 {
			return !in.closed()
		}
		if in.closed() {
			in.leave(batch)
			return false
		}
		select {
		case out <- batch:
			n += len(batch)
			size = batchSize
			batch = make([]engine.Entry, 0, size)
			return true
		case <-in.stop:
			in.leave(batch)
			return false
		}
	}
	add := func(e engine.Entry, more bool) bool {
		batch = append(batch, e)
		if len(batch) >= size || !more {
			return flush()
		}
		return true
	}
	// stopped leaves the entries not read to the failed list.
	stopped := func(args int, p itemReader, read *list.Item, rest []source) (int, bool, error) {
		drain(o, targets, fl, args, p, read, rest)
		return n, false, nil
	}
	for i := range o.URLs {
		it := argItem(o, i)
		if e, mine := resolve(o, targets, it); mine {
			fl.add(it, e)
			if !add(e, true) {
				return stopped(i+1, nil, nil, srcs)
			}
		}
	}
	for j, s := range srcs {
		p := newReader(o, s)
		for {
			buffered := p.Buffered()
			if !buffered && (!flush() || !in.park()) {
				return stopped(len(o.URLs), p, nil, srcs[j+1:])
			}
			it, err := p.Next()
			if !buffered && !in.unpark() {
				// Read after the run stopped: not an entry of this run.
				var read *list.Item
				if err == nil {
					read = &it
				}
				return stopped(len(o.URLs), p, read, srcs[j+1:])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				flush()
				if s.meta {
					return n, false, metalinkError(s.name, err)
				}
				return n, false, fmt.Errorf("cannot read list %s: %v", s.name, unwrapPath(err))
			}
			if e, mine := resolve(o, targets, it); mine {
				fl.add(it, e)
				if !add(e, true) {
					return stopped(len(o.URLs), p, nil, srcs[j+1:])
				}
			}
		}
	}
	return n, flush(), nil
}

func argItem(o *Options, i int) list.Item {
	u := o.URLs[i]
	it := list.Item{Source: "arg:" + strconv.Itoa(i+1), Line: i + 1, URL: u, Text: u}
	if o.output != "" {
		it.Options = map[string]string{"out": o.output} // -o
	}
	return it
}

// drain writes to the failed list the entries a stopped run did not read:
// the URL arguments from args on, the rest of p (read, when not nil, is
// its item read last) and the lists of rest. Reading stdin might never
// end, so with stdin among the lists there is no draining (the README
// says the failed list then holds only the entries read).
func drain(o *Options, targets *naming.Targets, fl *failedList, args int, p itemReader, read *list.Item, rest []source) {
	if fl == nil || o.hasStdin() {
		return
	}
	leave := func(it list.Item) {
		if e, mine := resolve(o, targets, it); mine {
			fl.unread(it, e)
		}
	}
	for i := args; i < len(o.URLs); i++ {
		leave(argItem(o, i))
	}
	if read != nil {
		leave(*read)
	}
	for {
		if p != nil {
			for {
				it, err := p.Next()
				if err != nil {
					break // the end, or a read error the run need not hear of
				}
				leave(it)
			}
		}
		if len(rest) == 0 {
			return
		}
		p, rest = newReader(o, rest[0]), rest[1:]
	}
}

// resolve makes an engine entry of a list item: checks its URL against
// --proto, derives its output path, and refuses a path claimed earlier.
// mine is false for an entry of another --shard, which gets no result here.
func resolve(o *Options, targets *naming.Targets, it list.Item) (e engine.Entry, mine bool) {
	e = engine.Entry{Source: it.Source, URL: it.URL}
	invalid := func(err error) (engine.Entry, bool) {
		e.Invalid = err
		if it.URLLine != "" {
			e.URL = it.URLLine
		}
		return e, inShard(invalidKey(it), o.shardK, o.shardN)
	}
	if it.Err != nil {
		return invalid(it.Err)
	}
	u, err := naming.ParseURL(it.URL, o.protocols)
	if err != nil {
		return invalid(err)
	}
	if req := naming.Request(it.URL, u); req != it.URL {
		e.URL, e.Written = req, it.URL
	}
	if e.Mirrors, err = mirrors(o, e.URL, it.Mirrors); err != nil {
		return invalid(err)
	}
	var rel string
	if out, ok := it.Options["out"]; ok {
		if rel, err = naming.CleanOut(out); err != nil {
			return invalid(err)
		}
	} else {
		rel = naming.FromURL(u, o.Tree)
		e.NamedByURL = true
	}
	if !inShard(targetKey(rel), o.shardK, o.shardN) {
		return e, false
	}
	if e.Checksums, err = checksums(o, it, rel); err != nil {
		e.Invalid = err
		return e, true
	}
	if s, ok := it.Options["size"]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			e.Invalid = fmt.Errorf("size=%s is not a number of bytes: write e.g. size=1048576", s)
			return e, true
		}
		e.Size, e.SizeKnown = n, true
	}
	path := filepath.Join(o.Dir, rel)
	if err := targets.ClaimTarget(path, it.Source); err != nil {
		e.Invalid = fmt.Errorf("%w: give one of them out=OTHER/NAME", err)
		return e, true
	}
	e.Path = path
	return e, true
}

// mirrors checks each mirror as the entry's URL is checked and returns
// them in request form, dropping any that repeats the URL or an earlier
// mirror (it would only be tried twice).
func mirrors(o *Options, url string, written []string) ([]string, error) {
	var out []string
	seen := map[string]bool{url: true}
	for _, m := range written {
		u, err := naming.ParseURL(m, o.protocols)
		if err != nil {
			return nil, fmt.Errorf("mirror %q: %v", m, err)
		}
		req := naming.Request(m, u)
		if !seen[req] {
			seen[req] = true
			out = append(out, req)
		}
	}
	return out, nil
}

// checksums collects the digests an entry must match: those given in its
// list line, and those a --checksum-file lists for its output name (the
// list line wins for the same algorithm).
func checksums(o *Options, it list.Item, rel string) ([]engine.Checksum, error) {
	var out []engine.Checksum
	have := map[string]bool{}
	for _, algo := range []string{"sha256", "sha512", "sha1", "md5"} {
		v, ok := it.Options[algo]
		if !ok {
			continue
		}
		hex, err := sums.Check(algo, v)
		if err != nil {
			return nil, err
		}
		out = append(out, engine.Checksum{Algo: algo, Hex: hex})
		have[algo] = true
	}
	for _, s := range o.sums.Lookup(filepath.ToSlash(rel)) {
		if !have[s.Algo] {
			out = append(out, engine.Checksum{Algo: s.Algo, Hex: s.Hex})
		}
	}
	return out, nil
}
