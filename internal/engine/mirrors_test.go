package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// mirror is a loopback server of one file that answers as told and
// records what each request carried.
type mirror struct {
	*httptest.Server
	mu     sync.Mutex
	status int    // answer with this status instead of the file (0: the file)
	data   []byte // the file it serves
	auth   []string
}

func newMirror(t *testing.T, data []byte, status int) *mirror {
	m := &mirror{data: data, status: status}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.auth = append(m.auth, r.Header.Get("Authorization"))
		st, d := m.status, m.data
		m.mu.Unlock()
		if st != 0 {
			http.Error(w, "no", st)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(d)))
		_, _ = w.Write(d)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *mirror) requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.auth)
}

// refusedURL is a URL on a loopback port nothing listens on.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String() + "/f"
	l.Close()
	return u
}

func mirrorCfg(retry int) Config {
	return Config{Parallel: 4, Retry: retry, RetryDelay: 10 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond}
}

// The first URL refuses connections, the second answers 404, the third
// serves: the entry is ok within --retry 0, having asked each once.
func TestMirrorsFailOver(t *testing.T) {
	data := body("mirrored", 70000)
	dead, missing, good := refusedURL(t), newMirror(t, nil, http.StatusNotFound), newMirror(t, data, 0)
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	en := Entry{Source: "e", URL: dead, Mirrors: []string{missing.URL + "/f", good.URL + "/f"}, Path: path}
	rec, st := run(t, context.Background(), mirrorCfg(0), []Entry{en})
	r := rec.bySource()["e"]
	if st.OK != 1 || r.Status != StatusOK || r.Attempts != 3 {
		t.Fatalf("want ok after 3 attempts (one per URL) within --retry 0, got %+v", r)
	}
	if want := []string{dead, missing.URL + "/f", good.URL + "/f"}; !slices.Equal(r.Tried, want) || r.EffectiveURL != good.URL+"/f" {
		t.Fatalf("tried %v (effective %s), want %v", r.Tried, r.EffectiveURL, want)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(data) {
		t.Fatal("the file is not the mirror's")
	}
	if missing.requests() != 1 || good.requests() != 1 {
		t.Fatalf("requests: 404 mirror %d, good %d; want 1 each", missing.requests(), good.requests())
	}
}

// --retry counts rounds over the URLs: two URLs that keep failing with
// --retry 1 are each asked twice, and the entry fails naming the last.
func TestMirrorsRoundsCountRetries(t *testing.T) {
	a, b := newMirror(t, nil, http.StatusServiceUnavailable), newMirror(t, nil, http.StatusBadGateway)
	dir := t.TempDir()
	en := Entry{Source: "e", URL: a.URL + "/f", Mirrors: []string{b.URL + "/f"}, Path: filepath.Join(dir, "f")}
	rec, _ := run(t, context.Background(), mirrorCfg(1), []Entry{en})
	r := rec.bySource()["e"]
	if r.Status != StatusFailed || r.Attempts != 4 || a.requests() != 2 || b.requests() != 2 {
		t.Fatalf("want failed after 4 attempts, 2 per URL; got %+v (a %d, b %d)", r, a.requests(), b.requests())
	}
	noPartFiles(t, dir)
}

// A mirror that sends other bytes of the same size fails the checksum;
// the entry goes on to the next URL and ends verified.
func TestMirrorsLyingMirror(t *testing.T) {
	data := body("honest", 50000)
	liar, honest := newMirror(t, body("liar!!", 50000), 0), newMirror(t, data, 0)
	sum := sha256.Sum256(data)
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	en := Entry{Source: "e", URL: liar.URL + "/f", Mirrors: []string{honest.URL + "/f"}, Path: path,
		Checksums: []Checksum{{Algo: "sha256", Hex: hex.EncodeToString(sum[:])}}}
	rec, _ := run(t, context.Background(), mirrorCfg(0), []Entry{en})
	r := rec.bySource()["e"]
	if r.Status != StatusOK || r.Verified["sha256"] == "" || r.EffectiveURL != honest.URL+"/f" {
		t.Fatalf("want ok and verified from the honest mirror, got %+v", r)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(data) {
		t.Fatal("the file is not the honest mirror's")
	}
	noPartFiles(t, dir)
}

// Credentials given with -H for the entry's host stay there: a mirror on
// another host (port) never sees them.
func TestMirrorsKeepCredentialsHome(t *testing.T) {
	data := body("creds", 1000)
	home, other := newMirror(t, nil, http.StatusInternalServerError), newMirror(t, data, 0)
	dir := t.TempDir()
	cfg := mirrorCfg(0)
	cfg.Headers = []string{"Authorization: Bearer secret"}
	en := Entry{Source: "e", URL: home.URL + "/f", Mirrors: []string{other.URL + "/f"}, Path: filepath.Join(dir, "f")}
	rec, _ := run(t, context.Background(), cfg, []Entry{en})
	if r := rec.bySource()["e"]; r.Status != StatusOK {
		t.Fatalf("want ok, got %+v", r)
	}
	home.mu.Lock()
	other.mu.Lock()
	defer home.mu.Unlock()
	defer other.mu.Unlock()
	if home.auth[0] != "Bearer secret" || other.auth[0] != "" {
		t.Fatalf("Authorization: home got %q, the mirror got %q; want it at home only", home.auth[0], other.auth[0])
	}
}

// A failure no other server can fix (the disk) does not move on: the
// second URL is never asked.
func TestMirrorsNotForLocalFailures(t *testing.T) {
	a, b := newMirror(t, body("x", 100), 0), newMirror(t, body("x", 100), 0)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	en := Entry{Source: "e", URL: a.URL + "/f", Mirrors: []string{b.URL + "/f"}, Path: filepath.Join(blocker, "f")}
	rec, _ := run(t, context.Background(), mirrorCfg(0), []Entry{en})
	if r := rec.bySource()["e"]; r.Status != StatusFailed || b.requests() != 0 {
		t.Fatalf("want failed without asking the mirror, got %+v (mirror asked %d times)", r, b.requests())
	}
}

// rangeMirror serves data with ranges (net/http's ServeContent) and an
// ETag of its own, and counts the range requests it answered.
type rangeMirror struct {
	*httptest.Server
	mu     sync.Mutex
	ranges int
	total  int
}

func newRangeMirror(t *testing.T, data []byte, etag string) *rangeMirror {
	m := &rangeMirror{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.total++
		if r.Header.Get("Range") != "" {
			m.ranges++
		}
		m.mu.Unlock()
		w.Header().Set("ETag", etag)
		http.ServeContent(slowWriter{w}, r, "", time.Time{}, bytesReader(data))
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *rangeMirror) counts() (ranges, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ranges, m.total
}

func splitMirrorCfg() Config {
	cfg := mirrorCfg(0)
	cfg.Split, cfg.MinSplitSize = 6, 1<<20
	return cfg
}

// With a checksum, a split download takes its ranges from all three
// mirrors (each naming its versions its own way) and the file is whole.
func TestMirrorsSplitSpread(t *testing.T) {
	data := body("spread", 6<<20)
	sum := sha256.Sum256(data)
	var ms []*rangeMirror
	for _, tag := range []string{`"a1"`, `"b2"`, `"c3"`} {
		ms = append(ms, newRangeMirror(t, data, tag))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	en := Entry{Source: "e", URL: ms[0].URL + "/f", Mirrors: []string{ms[1].URL + "/f", ms[2].URL + "/f"}, Path: path,
		Checksums: []Checksum{{Algo: "sha256", Hex: hex.EncodeToString(sum[:])}}}
	rec, _ := run(t, context.Background(), splitMirrorCfg(), []Entry{en})
	if r := rec.bySource()["e"]; r.Status != StatusOK || r.Verified["sha256"] == "" {
		t.Fatalf("want ok and verified, got %+v", r)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(data) {
		t.Fatal("the file is not byte-identical")
	}
	for i, m := range ms {
		if r, _ := m.counts(); r == 0 {
			t.Errorf("mirror %d served no range: the ranges were not spread", i)
		}
	}
	noPartFiles(t, dir)
}

// Without a checksum every range comes from the URL the probe asked.
func TestMirrorsSplitOneURLWithoutChecksum(t *testing.T) {
	data := body("single", 6<<20)
	a, b := newRangeMirror(t, data, `"a"`), newRangeMirror(t, data, `"b"`)
	dir := t.TempDir()
	en := Entry{Source: "e", URL: a.URL + "/f", Mirrors: []string{b.URL + "/f"}, Path: filepath.Join(dir, "f")}
	rec, _ := run(t, context.Background(), splitMirrorCfg(), []Entry{en})
	if r := rec.bySource()["e"]; r.Status != StatusOK {
		t.Fatalf("want ok, got %+v", r)
	}
	if ra, _ := a.counts(); ra < 2 {
		t.Fatalf("the probe's server served %d ranges: the file was not split", ra)
	}
	if _, tb := b.counts(); tb != 0 {
		t.Fatalf("the second URL got %d requests without a checksum to prove its bytes", tb)
	}
}

// A lying mirror (same size, other bytes) among the spread ranges fails
// the checksum; the file is fetched again from the next URL alone and
// ends verified.
func TestMirrorsSplitLyingMirror(t *testing.T) {
	data := body("truth!", 6<<20)
	sum := sha256.Sum256(data)
	honest1, liar, honest2 := newRangeMirror(t, data, `"h1"`), newRangeMirror(t, body("lies!!", 6<<20), `"l"`), newRangeMirror(t, data, `"h2"`)
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	en := Entry{Source: "e", URL: honest1.URL + "/f", Mirrors: []string{liar.URL + "/f", honest2.URL + "/f"}, Path: path,
		Checksums: []Checksum{{Algo: "sha256", Hex: hex.EncodeToString(sum[:])}}}
	rec, _ := run(t, context.Background(), splitMirrorCfg(), []Entry{en})
	r := rec.bySource()["e"]
	if r.Status != StatusOK || r.Verified["sha256"] == "" {
		t.Fatalf("want ok and verified from the honest mirrors, got %+v", r)
	}
	if lr, _ := liar.counts(); lr == 0 {
		t.Fatal("the liar served no range: the test proves nothing")
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(data) {
		t.Fatal("the file is not byte-identical")
	}
	noPartFiles(t, dir)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// slowWriter paces a body (64 KiB a millisecond), so that a probe is still
// running when the engine looks at splitting it.
type slowWriter struct{ http.ResponseWriter }

func (w slowWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k, err := w.ResponseWriter.Write(b[:min(len(b), 64<<10)])
		n += k
		if err != nil {
			return n, err
		}
		b = b[k:]
		w.ResponseWriter.(http.Flusher).Flush()
		time.Sleep(time.Millisecond)
	}
	return n, nil
}

// -v says that an attempt moved on to the next URL, and that a -N rerun's
// 304 left the file: neither is a retry or a failure.
func TestMirrorsVerboseOutcome(t *testing.T) {
	data := body("verbose", 2000)
	bad, good := newMirror(t, nil, http.StatusBadGateway), newMirror(t, data, 0)
	dir := t.TempDir()
	var log attemptLog
	cfg := mirrorCfg(0)
	cfg.OnAttempt = log.add
	en := Entry{Source: "e", URL: bad.URL + "/f", Mirrors: []string{good.URL + "/f"}, Path: filepath.Join(dir, "f")}
	if rec, _ := run(t, context.Background(), cfg, []Entry{en}); rec.bySource()["e"].Status != StatusOK {
		t.Fatalf("want ok, got %+v", rec.bySource()["e"])
	}
	var got []string
	for _, a := range log.all() {
		got = append(got, a.Outcome)
		if a.Outcome == "next URL" && a.Reason != "HTTP 502 Bad Gateway" {
			t.Errorf("a move to the next URL gives its reason alone: %q", a.Reason)
		}
	}
	if !slices.Equal(got, []string{"next URL", "ok"}) {
		t.Fatalf("-v outcomes %q, want next URL then ok", got)
	}
}

// An entry's size (size=, a Metalink's <size>) is checked before its
// checksums: a URL that sends another size is not the file; the next URL
// is asked, and with none left the entry fails and leaves nothing.
func TestSizeChecked(t *testing.T) {
	data := body("sized", 3000)
	short, right := newMirror(t, data[:2000], 0), newMirror(t, data, 0)
	dir := t.TempDir()
	ok := Entry{Source: "ok", URL: short.URL + "/a", Mirrors: []string{right.URL + "/a"}, Path: filepath.Join(dir, "a"),
		Size: 3000, SizeKnown: true}
	bad := Entry{Source: "bad", URL: short.URL + "/b", Path: filepath.Join(dir, "b"), Size: 3000, SizeKnown: true}
	empty := Entry{Source: "empty", URL: right.URL + "/c", Path: filepath.Join(dir, "c"), Size: 0, SizeKnown: true}
	rec, _ := run(t, context.Background(), mirrorCfg(0), []Entry{ok, bad, empty})
	got := rec.bySource()
	if r := got["ok"]; r.Status != StatusOK || r.EffectiveURL != right.URL+"/a" {
		t.Errorf("want ok from the second URL, got %+v", r)
	}
	if r := got["bad"]; r.Status != StatusFailed || r.Error != "size mismatch: got 2000 bytes, want 3000 (size=)" {
		t.Errorf("want failed on its size, got %+v", r)
	}
	if r := got["empty"]; r.Status != StatusFailed {
		t.Errorf("size 0 is a size too: want failed, got %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Error("a file of the wrong size was left under its name")
	}
	noPartFiles(t, dir)
}
