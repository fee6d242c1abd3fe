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
func produce(in *intake, o *Options, targets *naming.Targets, srcs []source, out chan<- []engine.Entry) (int, bool, error) {
	n := 0
	// What can run at once, at most batchSize: over HTTP/2 a -j slot
	// carries --streams transfers.
	size := min(max(o.Parallel, 1), batchSize) * min(max(o.Streams, 1), batchSize)
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
	for i, u := range o.URLs {
		it := list.Item{Source: "arg:" + strconv.Itoa(i+1), Line: i + 1, URL: u}
		if e, mine := resolve(o, targets, it); mine && !add(e, true) {
			return n, false, nil
		}
	}
	for _, s := range srcs {
		p := list.NewParser(s.name, s.r)
		for {
			buffered := p.Buffered()
			if !buffered && (!flush() || !in.park()) {
				return n, false, nil
			}
			it, err := p.Next()
			if !buffered && !in.unpark() {
				// Read after the run stopped: not an entry of this run.
				return n, false, nil
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				flush()
				return n, false, fmt.Errorf("cannot read list %s: %v", s.name, unwrapPath(err))
			}
			if e, mine := resolve(o, targets, it); mine && !add(e, true) {
				return n, false, nil
			}
		}
	}
	return n, flush(), nil
}

// resolve makes an engine entry of a list item: checks its URL against
// --proto, derives its output path, and refuses a path claimed earlier.
// mine is false for an entry of another --shard, which gets no result here.
func resolve(o *Options, targets *naming.Targets, it list.Item) (e engine.Entry, mine bool) {
	e = engine.Entry{Source: it.Source, URL: it.URL}
	invalid := func(err error) (engine.Entry, bool) {
		e.Invalid = err
		if it.Text != "" {
			e.URL = it.Text
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
	path := filepath.Join(o.Dir, rel)
	if err := targets.ClaimTarget(path, it.Source); err != nil {
		e.Invalid = fmt.Errorf("%v: give one of them out=OTHER/NAME", err)
		return e, true
	}
	e.Path = path
	return e, true
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
