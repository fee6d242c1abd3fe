package cmd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiget/multiget/internal/testserver"
)

// A list on stdin is a stream: an entry already read downloads while the
// producer is still writing (here: before it writes anything more), and the
// run ends when stdin closes.
func TestStdinIsAStream(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "multiget"), "-i", "-", "-d", "out", "--progress", "none")
	cmd.Dir = dir
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A blank line ends the entry (no option lines can follow it).
	fmt.Fprintf(in, "%s\n\n", s.URLFor("/ok/1000/first"))
	first := filepath.Join(dir, "out", "first")
	for {
		if _, err := os.Stat(first); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the first entry was not downloaded while stdin stayed open; stderr:\n%s", se.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(in, "%s\n", s.URLFor("/ok/2000/second"))
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, so.String(), se.String())
	}
	wantFile(t, first, testserver.Content("first", 1000))
	wantFile(t, filepath.Join(dir, "out", "second"), testserver.Content("second", 2000))
}

// Results that cannot be written (stdout on a full disk) fail the run even
// though every download succeeded: a CI job must not trust a missing file.
func TestUnwritableResultsFailTheRun(t *testing.T) {
	t.Parallel()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	s := startServer(t)
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "multiget"), "--json", "-d", "out", s.URLFor("/ok/100/a"))
	cmd.Dir = dir
	var se bytes.Buffer
	cmd.Stdout, cmd.Stderr = full, &se
	_ = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, se.String())
	}
	if !strings.Contains(se.String(), "multiget: error: cannot write the results to stdout: no space left on device\n") {
		t.Errorf("stderr does not name the write failure:\n%s", se.String())
	}
	wantFile(t, filepath.Join(dir, "out", "a"), testserver.Content("a", 100))
}

// A reader of stdout that does not keep up (a pipe into a slow consumer)
// must not stall the downloads: every request reaches the server while
// nothing reads the results, which fill the pipe many times over, and the
// results are all there once the reader comes back. (With the results
// written on the transfer loop, the loop would stop at the first full pipe
// buffer, about 250 of these lines.)
func TestSlowStdoutDoesNotStallDownloads(t *testing.T) {
	t.Parallel()
	const n = 1500
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "0123456789")
	}))
	defer srv.Close()
	dir := t.TempDir()
	var list strings.Builder
	for i := range n {
		fmt.Fprintf(&list, "%s/f/%d\n", srv.URL, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(filepath.Join(binDir, "multiget"), "-i", "list.txt", "-d", "out", "--json", "-j", "16")
	cmd.Dir = dir
	var se bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	deadline := time.Now().Add(60 * time.Second)
	for served.Load() < n {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the server saw %d of %d requests while stdout was not read: the downloads waited for the reader", served.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	out, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("multiget: %v; stderr:\n%s", err, se.String())
	}
	if lines := strings.Count(string(out), "\n"); lines != n {
		t.Errorf("%d result lines, want %d", lines, n)
	}
	if got := strings.Count(string(out), `"status":"ok"`); got != n {
		t.Errorf("%d ok results, want %d", got, n)
	}
}
