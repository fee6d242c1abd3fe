package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

func splitCfg(n int) Config {
	c := retryCfg()
	c.Split = n
	c.MinSplitSize = 1
	return c
}

// rangeStarts lists the first byte of each Range request NAME received.
func rangeStarts(s *testserver.Server, name string) []int64 {
	var out []int64
	for _, r := range s.Requests(name) {
		if v, ok := strings.CutPrefix(r.Range, "bytes="); ok {
			n, _ := strconv.ParseInt(strings.SplitN(v, "-", 2)[0], 10, 64)
			out = append(out, n)
		}
	}
	return out
}

// splitOne downloads route/SIZE/NAME from s as a split download of up to
// n ranges, into a fresh directory; it returns the result and the file's
// path.
func splitOne(t *testing.T, s *testserver.Server, n int, route string, size int, name string) (Result, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	rec, _ := run(t, context.Background(), splitCfg(n), []Entry{
		{Source: "a", URL: s.URLFor(route + strconv.Itoa(size) + "/" + name), Path: path},
	})
	return rec.results[0], path
}

// wantWhole checks that path holds testserver's NAME of size bytes and no
// .part is left beside it.
func wantWhole(t *testing.T, path, name string, size int) {
	t.Helper()
	b, _ := os.ReadFile(path)
	if !bytes.Equal(b, testserver.Content(name, size)) {
		t.Errorf("%s differs", name)
	}
	noPartFiles(t, filepath.Dir(path))
}

func TestSplitDownloadIsWholeAndUsesRanges(t *testing.T) {
	s := faultServer(t)
	const size = 3 << 20
	// 4 MB/s per connection: the probe is still running when the split
	// is decided, so the file really is fetched as several ranges.
	r, path := splitOne(t, s, 4, "/throttle/4000000/", size, "sp")
	if r.Status != StatusOK || r.Attempts != 5 || r.Ranges != 4 || r.Bytes != size {
		t.Fatalf("%+v", r)
	}
	if starts := rangeStarts(s, "sp"); len(starts) != 4 {
		t.Errorf("range requests start at %v, want 4 ranges after the probe", starts)
	}
	// The ranges run side by side: each takes about 0.2 s at this pace
	// and they start within milliseconds, so an engine fetching them one
	// after another (with the probe: 2 at most) fails this.
	if m := s.MaxInflight(); m < 3 || m > 5 {
		t.Errorf("the server served at most %d requests at once, want 3 to 5 (4 ranges, the probe maybe still ending)", m)
	}
	for _, rq := range s.Requests("sp")[1:] {
		if rq.IfRange != testserver.ETag("sp", size, 0) {
			t.Errorf("range request without the validator: If-Range %q", rq.IfRange)
		}
	}
	wantWhole(t, path, "sp", size)
}

func TestSplitRetriesAFailedRangeAlone(t *testing.T) {
	s := faultServer(t)
	const size = 3 << 20
	// Request 2 (the first range after the probe) is reset after 100000 bytes.
	r, path := splitOne(t, s, 3, "/throttle-cut/4000000/100000/2/", size, "sc")
	if r.Status != StatusOK || r.Attempts != 5 || r.Ranges != 3 {
		t.Fatalf("%+v", r)
	}
	starts := rangeStarts(s, "sc")
	if len(starts) != 4 || starts[3] != starts[0]+100000 {
		t.Errorf("range starts %v: the retry must continue the cut range where it stopped", starts)
	}
	wantWhole(t, path, "sc", size)
}

// A range far behind the others is cut in two when another finishes. The
// first range (request 2, after the probe) is served at 1 MB/s and every
// other request at full speed, so the connections that finish take over
// halves of what it has left, again and again; at its pace that range
// alone would take 4 s.
func TestSplitRebalancesASlowRange(t *testing.T) {
	s := faultServer(t)
	// Large enough that the probe, at full speed, is still running when
	// the split is decided even on a loaded machine (at 8 MiB it once
	// fetched the whole file first, and no range was asked for).
	const size = 32 << 20
	r, path := splitOne(t, s, 2, "/throttle-hit/1000000/2/", size, "rb")
	if r.Status != StatusOK || r.Bytes != size {
		t.Fatalf("%+v", r)
	}
	starts := rangeStarts(s, "rb")
	if len(starts) < 2 {
		t.Fatalf("range starts %v, want the 2 ranges at least", starts)
	}
	// The slow range is the first range request to arrive; the other one
	// begins where it ends, or it runs to the end of the file.
	slow, end := starts[0], int64(size)
	if starts[1] > slow {
		end = starts[1]
	}
	cut := 0
	for _, st := range starts[2:] {
		if st > slow && st < end {
			cut++
		}
	}
	if cut == 0 {
		t.Errorf("range starts %v: none cuts the slow first range", starts)
	}
	wantWhole(t, path, "rb", size)
}

// A file that changes between ranges is never spliced: every range asks
// with If-Range, the server answers 200 for the new version, and the entry
// starts over; a file that keeps changing fails with nothing left behind.
func TestSplitNeverSplicesVersions(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	cfg := splitCfg(4)
	cfg.Retry = 1
	rec, _ := run(t, context.Background(), cfg, []Entry{
		{Source: "a", URL: s.URLFor("/changing-throttle/4000000/3000000/chs"), Path: filepath.Join(dir, "chs")},
	})
	r := rec.results[0]
	if r.Status != StatusFailed || !strings.Contains(r.Error, "changed") {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Lstat(filepath.Join(dir, "chs")); err == nil {
		t.Errorf("final file exists")
	}
	noPartFiles(t, dir)
}

// Restarts of a split download are counted in starts of the file, not in
// ranges: a file that changes under two rounds of ranges is fetched whole
// on the third within --retry 1 (the first restart is free), though those
// rounds ran six transfers; with --retry 0 the second change ends it.
func TestSplitRestartsSpendOneRetryEach(t *testing.T) {
	s := faultServer(t)
	const size = 3000000
	for _, retry := range []int{1, 0} {
		dir := t.TempDir()
		name := fmt.Sprintf("chu%d", retry)
		cfg := splitCfg(2)
		cfg.Retry = retry
		rec, _ := run(t, context.Background(), cfg, []Entry{
			{Source: "a", URL: s.URLFor(fmt.Sprintf("/changing-after-probe/4/4000000/%d/%s", size, name)), Path: filepath.Join(dir, name)},
		})
		r := rec.results[0]
		if retry == 0 {
			if r.Status != StatusFailed || !strings.Contains(r.Error, "changed") || !strings.Contains(r.Error, "after 2 attempts") {
				t.Errorf("--retry 0: %+v", r)
			}
			if n := probes(s, name); n != 2 {
				t.Errorf("--retry 0: %d starts, want 2", n)
			}
			noPartFiles(t, dir)
			continue
		}
		if r.Status != StatusOK {
			t.Fatalf("--retry 1: %+v", r)
		}
		if n := probes(s, name); n != 3 {
			t.Errorf("--retry 1: %d starts, want 3", n)
		}
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(b, testserver.ContentVersion(name, size, 4)) {
			t.Errorf("--retry 1: the file is not version 4 whole")
		}
		noPartFiles(t, dir)
	}
}

// -v numbers a split download's probe as the entry's attempt and each
// range by its own attempts, not by the transfers the entry has run.
func TestSplitVerboseNumbersAttempts(t *testing.T) {
	s := faultServer(t)
	const size = 4000000
	var log attemptLog
	cfg := splitCfg(4)
	cfg.OnAttempt = log.add
	path := filepath.Join(t.TempDir(), "vn")
	rec, _ := run(t, context.Background(), cfg, []Entry{
		{Source: "a", URL: s.URLFor(fmt.Sprintf("/throttle/8000000/%d/vn", size)), Path: path},
	})
	if r := rec.results[0]; r.Status != StatusOK || r.Ranges < 4 {
		t.Fatalf("%+v", r)
	}
	got := log.all()
	if len(got) < 5 {
		t.Fatalf("%d -v lines, want the probe's and 4 ranges' at least", len(got))
	}
	for _, a := range got {
		if a.Outcome != "ok" || a.N != 1 {
			t.Errorf("range %s: attempt %d %s, want attempt 1 ok", a.Range, a.N, a.Outcome)
		}
	}
	wantWhole(t, path, "vn", size)
}

// A split given up for a server that ignores ranges leaves the whole file
// its own --retry: the ranges it ran are not counted against it. The first
// whole fetch after the fallback is cut short; the next one ends it.
func TestUnsplitKeepsItsRetries(t *testing.T) {
	s := faultServer(t)
	const size = 4 << 20
	path := filepath.Join(t.TempDir(), "uns")
	cfg := splitCfg(4)
	cfg.Retry = 1
	// About 16 MB/s: the probe is still running when the split is decided.
	u := s.URLFor(fmt.Sprintf("/ranges-ignored/16000000/2/%d/%d/uns", 1<<20, size))
	rec, _ := run(t, context.Background(), cfg, []Entry{{Source: "a", URL: u, Path: path}})
	if r := rec.results[0]; r.Status != StatusOK {
		t.Fatalf("%+v", r)
	}
	// The probe, the ranges, the cut whole fetch, then its retry (which
	// may resume with Range; the server answers it whole too).
	reqs := s.Requests("uns")
	cutAt := -1
	for i, plain := 0, 0; i < len(reqs); i++ {
		if reqs[i].Range == "" {
			if plain++; plain == 2 {
				cutAt = i
			}
		}
	}
	if cutAt < 0 || cutAt == len(reqs)-1 {
		t.Errorf("requests %+v: want the probe, the cut whole fetch and a retry after it", reqs)
	}
	wantWhole(t, path, "uns", size)
}

// probes counts the requests for name without a Range header: the starts
// of a split download.
func probes(s *testserver.Server, name string) int {
	n := 0
	for _, r := range s.Requests(name) {
		if r.Range == "" {
			n++
		}
	}
	return n
}

// Small files, unknown sizes and servers without ranges are not split.
func TestNoSplitWhenNotWorthIt(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	cfg := splitCfg(8)
	cfg.MinSplitSize = 1 << 20
	rec, _ := run(t, context.Background(), cfg, []Entry{
		{Source: "small", URL: s.URLFor("/ok/100000/small"), Path: filepath.Join(dir, "small")},
		{Source: "norange", URL: s.URLFor("/norange/3000000/nr"), Path: filepath.Join(dir, "nr")},
	})
	for _, r := range rec.results {
		if r.Status != StatusOK || r.Attempts != 1 {
			t.Errorf("%+v", r)
		}
	}
	if n := len(rangeStarts(s, "small")) + len(rangeStarts(s, "nr")); n != 0 {
		t.Errorf("%d range requests", n)
	}
}

// An interrupted split download records its ranges; -c finishes exactly
// the missing bytes and the file is whole.
func TestSplitResumesWithContinue(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	const size = 4 << 20
	url := s.URLFor("/throttle/2000000/" + strconv.Itoa(size) + "/sr")
	path := filepath.Join(dir, "sr")
	ctx, cancel := context.WithCancel(context.Background())
	obs := &cancelAfter{limit: size / 4, cancel: cancel}
	ch := make(chan []Entry, 1)
	ch <- []Entry{{Source: "a", URL: url, Path: path}}
	close(ch)
	cfg := splitCfg(4)
	cfg.Protocols = []string{"http"}
	cfg.MaxRedirs = 10
	st, err := Run(ctx, cfg, ch, obs)
	if err != nil || !st.Interrupted {
		t.Fatalf("%+v %v", st, err)
	}
	b, err := os.ReadFile(path + PartSuffix + MetaSuffix)
	if err != nil || !strings.Contains(string(b), `"segments"`) {
		t.Fatalf("meta %s %v", b, err)
	}
	before := len(s.Requests("sr"))
	cfg.Continue = true
	rec, _ := run(t, context.Background(), cfg, []Entry{{Source: "a", URL: url, Path: path}})
	if r := rec.results[0]; r.Status != StatusOK || r.Bytes >= size {
		t.Fatalf("resumed run: %+v (must fetch only what was missing)", r)
	}
	for _, rq := range s.Requests("sr")[before:] {
		if rq.Range == "" || rq.IfRange == "" {
			t.Errorf("resumed request without Range/If-Range: %+v", rq)
		}
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, testserver.Content("sr", size)) {
		t.Errorf("file differs")
	}
	noPartFiles(t, dir)
}

// cancelAfter cancels the run once limit body bytes have arrived.
type cancelAfter struct {
	recorder
	limit  int64
	cancel func()
	once   bool
}

func (c *cancelAfter) Progress(p Progress) {
	if p.Bytes >= c.limit && !c.once {
		c.once = true
		c.cancel()
	}
}

var _ = time.Second
