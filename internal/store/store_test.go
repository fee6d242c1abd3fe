package store

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPutGetLastWins(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if _, ok := s.Get("a/b.iso"); ok {
		t.Fatal("an empty store has a record")
	}
	for i := range 3 {
		if err := s.Put(Record{Path: "a/b.iso", ETag: fmt.Sprintf(`"v%d"`, i), Size: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if r, ok := s.Get("a/b.iso"); !ok || r.ETag != `"v2"` {
		t.Fatalf("same process: got %+v %v, want v2", r, ok)
	}
	// A new run reads what the last one wrote.
	if r, ok := Open(dir).Get("a/b.iso"); !ok || r.ETag != `"v2"` || r.Size != 2 {
		t.Fatalf("next run: got %+v %v, want v2 of size 2", r, ok)
	}
	if _, err := os.Stat(filepath.Join(dir, ".multiget", "state")); err != nil {
		t.Fatalf("the store is not where the docs say: %v", err)
	}
}

// A line cut by a crash costs only that record: the one before stands,
// and records appended after it are read.
func TestCutLine(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if err := s.Put(Record{Path: "f", ETag: `"old"`}); err != nil {
		t.Fatal(err)
	}
	p := s.bucketPath(bucketOf("f"))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n{\"path\":\"f\",\"etag\":\"\\\"ne"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if r, ok := Open(dir).Get("f"); !ok || r.ETag != `"old"` {
		t.Fatalf("after a cut line: got %+v %v, want the old record", r, ok)
	}
	if err := Open(dir).Put(Record{Path: "f", ETag: `"new"`}); err != nil {
		t.Fatal(err)
	}
	if r, ok := Open(dir).Get("f"); !ok || r.ETag != `"new"` {
		t.Fatalf("a record after a cut line: got %+v %v, want the new one", r, ok)
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	for i := range 500 {
		if err := s.Put(Record{Path: "same", ETag: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	p := s.bucketPath(bucketOf("same"))
	before, _ := os.Stat(p)
	if r, ok := Open(dir).Get("same"); !ok || r.ETag != "499" {
		t.Fatalf("got %+v, want the last record", r)
	}
	after, _ := os.Stat(p)
	if after.Size()*10 > before.Size() {
		t.Fatalf("a bucket of 500 records of one path was not compacted: %d -> %d bytes", before.Size(), after.Size())
	}
	if err := Open(dir).Put(Record{Path: "same", ETag: "500"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := Open(dir).Get("same"); r.ETag != "500" {
		t.Fatalf("append after compaction lost: %+v", r)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".multiget", "state", ".*.tmp"))
	if len(left) != 0 {
		t.Fatalf("compaction left %v", left)
	}
}

// writer is the child process of the tests below: it appends records
// forever (or N of them) to the store of MG_STORE_DIR.
func TestMain(m *testing.M) {
	if dir := os.Getenv("MG_STORE_DIR"); dir != "" {
		s := Open(dir)
		id := os.Getenv("MG_STORE_ID")
		n, _ := strconv.Atoi(os.Getenv("MG_STORE_N"))
		paths, _ := strconv.Atoi(os.Getenv("MG_STORE_PATHS"))
		for i := 0; n == 0 || i < n; i++ {
			// Long records make a cut write more likely to be seen.
			r := Record{Path: fmt.Sprintf("%s/%d", id, i%paths), URL: strings.Repeat("u", 2000), ETag: strconv.Itoa(i)}
			if err := s.Put(r); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts a process writing n records (0: until killed) over paths
// ID/0 .. ID/paths-1, in turn.
func child(t *testing.T, dir, id string, n, paths int) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "MG_STORE_DIR="+dir, "MG_STORE_ID="+id, "MG_STORE_N="+strconv.Itoa(n), "MG_STORE_PATHS="+strconv.Itoa(paths))
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Killed mid-write, the store is still readable: every path written has
// a whole record.
func TestKilledWriter(t *testing.T) {
	dir := t.TempDir()
	c := child(t, dir, "k", 0, 300)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Wait until it has written some of every bucket it will write.
		fs, _ := filepath.Glob(filepath.Join(dir, ".multiget", "state", "*.jsonl"))
		if len(fs) > 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
	s := Open(dir)
	seen := 0
	for i := range 300 {
		if r, ok := s.Get(fmt.Sprintf("k/%d", i)); ok {
			if r.URL != strings.Repeat("u", 2000) {
				t.Fatalf("record k/%d is torn: %+v", i, r)
			}
			seen++
		}
	}
	if seen == 0 {
		t.Fatal("no record survived the kill")
	}
}

// Shards of one list in one --dir append to the same buckets at once,
// while a third run reads (and so compacts) them: every record of both is
// there.
func TestConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	// Few paths written many times: their buckets fill with superseded
	// lines, so reading them compacts while the writers append.
	const n, paths = 3000, 4
	a, b := child(t, dir, "a", n, paths), child(t, dir, "b", n, paths)
	done := make(chan error, 2)
	for _, c := range []*exec.Cmd{a, b} {
		go func() { done <- c.Wait() }()
	}
	compactions := 0
	for running := 2; running > 0; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running--
		default:
			// Loading every bucket compacts those with superseded lines.
			s := Open(dir)
			for i := range paths {
				s.Get(fmt.Sprintf("a/%d", i))
				s.Get(fmt.Sprintf("b/%d", i))
			}
			compactions++
		}
	}
	t.Logf("%d reading passes during the writes", compactions)
	s := Open(dir)
	for _, id := range []string{"a", "b"} {
		for i := range paths {
			r, ok := s.Get(fmt.Sprintf("%s/%d", id, i))
			// The last write of path i was record n-paths+i.
			if want := strconv.Itoa(n - paths + i); !ok || r.ETag != want {
				t.Fatalf("%s/%d: got etag %q (%v), want the record of write %s", id, i, r.ETag, ok, want)
			}
		}
	}
	// Compacted at the end too: no bucket holds thousands of lines.
	fs, _ := filepath.Glob(filepath.Join(dir, ".multiget", "state", "*.jsonl"))
	for _, f := range fs {
		if fi, _ := os.Stat(f); fi.Size() > 300*2100 {
			t.Errorf("%s: %d bytes, not compacted", f, fi.Size())
		}
	}
}
