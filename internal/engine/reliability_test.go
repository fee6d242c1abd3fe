package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

func faultServer(t *testing.T) *testserver.Server {
	s := testserver.New()
	t.Cleanup(s.Close)
	t.Cleanup(s.Release) // cleanups run last-first: release waits, then close
	return s
}

func retryCfg() Config {
	return Config{Parallel: 4, Retry: 3, RetryDelay: 5 * time.Millisecond, RetryMaxDelay: time.Second}
}

func TestRetriesTransientFailures(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	cases := []struct {
		name, route string
		size        int
		attempts    int
		status      Status
	}{
		{"503 twice", "/status/503/2/5000/s503", 5000, 3, StatusOK},
		{"429 once", "/status/429/1/5000/s429", 5000, 2, StatusOK},
		{"404 is final", "/status/404/1/5000/s404", 5000, 1, StatusFailed},
		{"503 forever gives up", "/status/503/99/5000/s503f", 5000, 4, StatusFailed},
		{"reset mid-body", "/rst/300000/1/1000000/rst", 1000000, 2, StatusOK},
		{"short body", "/short/1000/1/50000/short", 50000, 2, StatusOK},
		{"truncated chunked body", "/chunked-trunc/1000/1/50000/chunk", 50000, 2, StatusOK},
	}
	var entries []Entry
	for _, c := range cases {
		entries = append(entries, Entry{Source: c.name, URL: s.URLFor(c.route), Path: filepath.Join(dir, c.name)})
	}
	rec, _ := run(t, context.Background(), retryCfg(), entries)
	got := rec.bySource()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := got[c.name]
			if r.Status != c.status || r.Attempts != c.attempts {
				t.Fatalf("status %s attempts %d, want %s %d: %+v", r.Status, r.Attempts, c.status, c.attempts, r)
			}
			name := c.route[strings.LastIndexByte(c.route, '/')+1:]
			b, err := os.ReadFile(filepath.Join(dir, c.name))
			if c.status != StatusOK {
				if err == nil {
					t.Errorf("a failed entry left its final file")
				}
				return
			}
			if !bytes.Equal(b, testserver.Content(name, c.size)) {
				t.Errorf("file differs (%d bytes)", len(b))
			}
		})
	}
	noPartFiles(t, dir)
}

// A retry after bytes arrived asks for the rest, validated by If-Range.
func TestRetryResumesWithIfRange(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	rec, _ := run(t, context.Background(), retryCfg(), []Entry{
		{Source: "a", URL: s.URLFor("/rst/300000/1/1000000/res"), Path: filepath.Join(dir, "res")},
	})
	if r := rec.results[0]; r.Status != StatusOK || r.Attempts != 2 {
		t.Fatalf("%+v", r)
	}
	reqs := s.Requests("res")
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if reqs[1].Range != "bytes=300000-" || reqs[1].IfRange != testserver.ETag("res", 1000000, 0) {
		t.Errorf("second request Range %q If-Range %q", reqs[1].Range, reqs[1].IfRange)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "res"))
	if !bytes.Equal(b, testserver.Content("res", 1000000)) {
		t.Errorf("file differs")
	}
}

// When the resource changes between attempts, the retry's stale If-Range
// gets the whole new version, which replaces the prefix: never a splice.
func TestChangedResourceIsFetchedAnew(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	rec, _ := run(t, context.Background(), retryCfg(), []Entry{
		{Source: "a", URL: s.URLFor("/changing-rst/100000/400000/chg"), Path: filepath.Join(dir, "chg")},
	})
	if r := rec.results[0]; r.Status != StatusOK || r.Attempts != 2 {
		t.Fatalf("%+v", r)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "chg"))
	if !bytes.Equal(b, testserver.ContentVersion("chg", 400000, 2)) {
		t.Errorf("file is not version 2 whole")
	}
}

func TestContinueAcrossRuns(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	url := s.URLFor("/rst/200000/2/900000/cont")
	path := filepath.Join(dir, "cont")
	cfg := retryCfg()
	cfg.Retry = 1
	rec, _ := run(t, context.Background(), cfg, []Entry{{Source: "a", URL: url, Path: path}})
	if r := rec.results[0]; r.Status != StatusFailed || r.Attempts != 2 {
		t.Fatalf("first run: %+v", r)
	}
	fi, err := os.Stat(path + PartSuffix)
	if err != nil || fi.Size() != 400000 {
		t.Fatalf("kept .part: %v %v", fi, err)
	}
	if _, err := os.Stat(path + PartSuffix + MetaSuffix); err != nil {
		t.Fatalf("no .meta: %v", err)
	}
	cfg.Continue = true
	rec, _ = run(t, context.Background(), cfg, []Entry{{Source: "a", URL: url, Path: path}})
	if r := rec.results[0]; r.Status != StatusOK || r.Attempts != 1 {
		t.Fatalf("second run: %+v", r)
	}
	if reqs := s.Requests("cont"); reqs[2].Range != "bytes=400000-" {
		t.Errorf("resumed with Range %q", reqs[2].Range)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Equal(b, testserver.Content("cont", 900000)) {
		t.Errorf("file differs")
	}
	for _, p := range []string{path + PartSuffix, path + PartSuffix + MetaSuffix} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
}

// -c with a server that ignores Range: the file restarts from zero.
func TestContinueWhenServerIgnoresRange(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	url := s.URLFor("/norange/70000/nr")
	path := filepath.Join(dir, "nr")
	if err := os.WriteFile(path+PartSuffix, []byte("stale prefix that must vanish"), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := `{"url":"` + url + `","validator":` + jsonString(testserver.ETag("nr", 70000, 0)) + `}`
	if err := os.WriteFile(path+PartSuffix+MetaSuffix, []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := retryCfg()
	cfg.Continue = true
	rec, _ := run(t, context.Background(), cfg, []Entry{{Source: "a", URL: url, Path: path}})
	if r := rec.results[0]; r.Status != StatusOK {
		t.Fatalf("%+v", r)
	}
	if reqs := s.Requests("nr"); reqs[0].Range == "" {
		t.Errorf("-c did not ask for a range")
	}
	b, _ := os.ReadFile(path)
	if !bytes.Equal(b, testserver.Content("nr", 70000)) {
		t.Errorf("file differs: %d bytes", len(b))
	}
}

func jsonString(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func TestStallIsRetried(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	cfg := retryCfg()
	cfg.StallTimeout = time.Second
	rec, _ := run(t, context.Background(), cfg, []Entry{
		{Source: "a", URL: s.URLFor("/stall/1000/1/20000/st"), Path: filepath.Join(dir, "st")},
	})
	r := rec.results[0]
	if r.Status != StatusOK || r.Attempts != 2 {
		t.Fatalf("%+v", r)
	}
}

func TestChecksums(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	sum := sha256.Sum256(testserver.Content("cs", 300000))
	good := hex.EncodeToString(sum[:])
	bad := strings.Repeat("0", 64)
	rec, _ := run(t, context.Background(), retryCfg(), []Entry{
		{Source: "good", URL: s.URLFor("/ok/300000/cs"), Path: filepath.Join(dir, "good"),
			Checksums: []Checksum{{Algo: "sha256", Hex: good}}},
		{Source: "bad", URL: s.URLFor("/ok/300000/cs"), Path: filepath.Join(dir, "bad"),
			Checksums: []Checksum{{Algo: "sha256", Hex: bad}}},
	})
	got := rec.bySource()
	if r := got["good"]; r.Status != StatusOK || r.Verified["sha256"] != good {
		t.Errorf("good: %+v", r)
	}
	if r := got["bad"]; r.Status != StatusFailed || !strings.Contains(r.Error, "sha256 mismatch") {
		t.Errorf("bad: %+v", r)
	}
	if _, err := os.Lstat(filepath.Join(dir, "bad")); err == nil {
		t.Errorf("mismatching file under its final name")
	}
	noPartFiles(t, dir)
}

func TestContentDisposition(t *testing.T) {
	s := faultServer(t)
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	cfg := retryCfg()
	cfg.ContentDisposition = true
	cases := []struct{ name, value, want string }{
		{"plain", "report.pdf", "report.pdf"},
		{"parent escape", "../../x", "x"},
		{"absolute", "/etc/passwd", "passwd"},
		{"backslashes", `..\..\win`, "win"},
	}
	var entries []Entry
	for _, c := range cases {
		entries = append(entries, Entry{Source: c.name, URL: s.URLFor("/cd/" + strings.ReplaceAll(c.name, " ", "_") + "?filename=" + urlQueryEscape(c.value)),
			Path: filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")), NamedByURL: true})
	}
	rec, _ := run(t, context.Background(), cfg, entries)
	got := rec.bySource()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := got[c.name]
			if r.Status != StatusOK || r.Path != filepath.Join(dir, c.want) {
				t.Fatalf("%+v", r)
			}
		})
	}
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Errorf("file outside --dir: %s", p)
		}
		return nil
	})
}

func urlQueryEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// A waiting retry holds no slot: with -j 1, a good entry behind a failing
// one finishes while the failing one backs off. (A 500, not a 503: a 503
// pauses the whole host, see TestRetryAfterPausesTheHost.)
func TestWaitingRetryHoldsNoSlot(t *testing.T) {
	s := faultServer(t)
	dir := t.TempDir()
	cfg := retryCfg()
	cfg.Parallel = 1
	cfg.RetryDelay = 300 * time.Millisecond
	cfg.Retry = 1
	rec, _ := run(t, context.Background(), cfg, []Entry{
		{Source: "flaky", URL: s.URLFor("/status/500/1/100/fl"), Path: filepath.Join(dir, "fl")},
		{Source: "good", URL: s.URLFor("/ok/100/gd"), Path: filepath.Join(dir, "gd")},
	})
	if len(rec.results) != 2 || rec.results[0].Source != "good" || rec.results[1].Source != "flaky" {
		t.Fatalf("order %+v", rec.results)
	}
	if rec.results[1].Status != StatusOK {
		t.Errorf("%+v", rec.results[1])
	}
}
