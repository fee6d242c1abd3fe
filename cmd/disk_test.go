package cmd_test

// Disk failures: a full filesystem, a read-only one, and a path component
// that is a file. Each fails its entry with the OS's reason and the path,
// leaves no partial file, and does not disturb the other entries.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// mountTmpfs mounts a tmpfs of size at dir (created), unmounted when the
// test ends; it skips the test when that is not possible here.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount -l %s: %v: %s", dir, err, out)
		}
	})
}

// ENOSPC: on a 1 MiB filesystem a 3 MB entry fails naming the device error
// and its path, leaving nothing, while a small entry of the same run is ok.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	mountTmpfs(t, out, "1m")
	const small, big = 10000, 3000000
	// The proxy holds the big download until the small file is complete,
	// so the small one can never be the victim of the full disk.
	p := newRecProxy(s.URL, func(r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/big") {
			return
		}
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(out, "small")); err == nil {
				return
			}
		}
	})
	defer p.Close()
	list := fmt.Sprintf("%s/ok/%d/big\n%s/ok/%d/small\n", p.URL, big, p.URL, small)
	r := mgList(t, dir, list, "-d", "out", "--json", "-j", "2", "--retry-delay", "10ms")
	m := bySource(t, r)
	if len(m) != 2 || r.code != 1 {
		t.Fatalf("want 2 results and exit 1\n%s", r)
	}
	b := m["list.txt:1"]
	bigPath := filepath.Join("out", "big")
	if b.Status != "failed" || b.Attempts != 1 || !strings.Contains(b.Error, "no space left on device") || !strings.Contains(b.Error, bigPath) {
		t.Errorf("big entry: status %q attempts %d error %q, want failed once with ENOSPC naming %s", b.Status, b.Attempts, b.Error, bigPath)
	}
	if !strings.Contains(r.stderr, "no space left on device") {
		t.Errorf("stderr does not report ENOSPC:\n%s", r.stderr)
	}
	if sm := m["list.txt:2"]; sm.Status != "ok" {
		t.Errorf("small entry: %+v", sm)
	}
	wantFile(t, filepath.Join(out, "small"), testserver.Content("small", small))
	wantAbsent(t, filepath.Join(out, "big"), filepath.Join(out, "big.part"), filepath.Join(out, "big.part.meta"))
}

// EROFS: every entry fails naming the read-only filesystem and its path.
func TestDiskReadOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	mountTmpfs(t, out, "1m")
	if o, err := exec.Command("mount", "-o", "remount,ro", out).CombinedOutput(); err != nil {
		t.Skipf("cannot remount the tmpfs read-only (%v): %s", err, o)
	}
	// The second entry needs a directory created first (mkdir fails).
	list := s.URLFor("/ok/1000/ro1") + "\n" + s.URLFor("/ok/2000/ro2") + " out=sub/ro2\n"
	r := mgList(t, dir, list, "-d", "out", "--json", "--retry-delay", "10ms")
	m := bySource(t, r)
	if len(m) != 2 || r.code != 1 {
		t.Fatalf("want 2 results and exit 1\n%s", r)
	}
	for src, name := range map[string]string{"list.txt:1": "ro1", "list.txt:2": "sub"} {
		x := m[src]
		if x.Status != "failed" || x.Attempts != 1 || !strings.Contains(x.Error, "read-only file system") ||
			!strings.Contains(x.Error, filepath.Join("out", name)) {
			t.Errorf("%s: status %q attempts %d error %q, want failed once with EROFS naming out/%s", src, x.Status, x.Attempts, x.Error, name)
		}
	}
	if n := strings.Count(r.stderr, "read-only file system"); n < 2 {
		t.Errorf("stderr reports EROFS %d times, want 2:\n%s", n, r.stderr)
	}
	if files := regularFiles(t, out); len(files) != 0 {
		t.Errorf("files on a read-only filesystem?! %v", files)
	}
}

// A path component that is a regular file: the entry fails naming the path
// and the reason; the file in the way is untouched; others are ok.
func TestDiskPathComponentIsFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "file"), []byte("in the way\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := s.URLFor("/ok/1000/pc1") + " out=file/x\n" + s.URLFor("/ok/1000/pc2") + "\n"
	r := mgList(t, dir, list, "-d", "out", "--json", "--retry-delay", "10ms")
	m := bySource(t, r)
	if len(m) != 2 || r.code != 1 {
		t.Fatalf("want 2 results and exit 1\n%s", r)
	}
	x := m["list.txt:1"]
	if x.Status != "failed" || x.Attempts != 1 || !strings.Contains(x.Error, filepath.Join("out", "file", "x")) ||
		!strings.Contains(x.Error, "not a directory") {
		t.Errorf("status %q attempts %d error %q, want failed once naming out/file/x: not a directory", x.Status, x.Attempts, x.Error)
	}
	if y := m["list.txt:2"]; y.Status != "ok" {
		t.Errorf("the other entry: %+v", y)
	}
	wantFile(t, filepath.Join(out, "file"), []byte("in the way\n"))
	wantFile(t, filepath.Join(out, "pc2"), testserver.Content("pc2", 1000))
	noLeftovers(t, dir)
}

// ENOSPC from the first byte: the filesystem is full before the run, so
// NAME.part.meta cannot be written either (its file can be created, its
// bytes cannot). The entry fails, and neither NAME.part nor a .meta
// (empty or not) stays behind.
func TestDiskFullMeta(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	mountTmpfs(t, out, "1m")
	f, err := os.Create(filepath.Join(out, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // full
		}
	}
	f.Close()
	const big = 3000000
	r := mg(t, dir, "-d", "out", "--json", "--retry-delay", "10ms", s.URLFor(fmt.Sprintf("/throttle/4000000/%d/fullmeta", big)))
	res := single(t, r)
	if r.code != 1 || res.Status != "failed" || !strings.Contains(res.Error, "no space left on device") {
		t.Fatalf("want failed with ENOSPC\n%s", r)
	}
	wantAbsent(t, filepath.Join(out, "fullmeta"), filepath.Join(out, "fullmeta.part"), filepath.Join(out, "fullmeta.part.meta"))
	noLeftovers(t, dir)
}
