package cmd_test

import (
	"bufio"
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
	r := startResultsRun(t, n)
	r.waitServed(t, func() int { return 0 })
	out, err := io.ReadAll(r.out)
	if err != nil {
		t.Fatal(err)
	}
	r.check(t, string(out))
}

// The same with a reader that reads all the time but slowly (one line per
// 20 ms, a consumer doing work per result): the downloads run ahead of it.
// A run whose loop waited on the pipe could be at most one pipe buffer
// (about 250 lines) ahead of the reader, so it could not have served all
// 1,500 before the reader had taken 1,000 lines; this run must serve them
// all while the reader has taken fewer than 750.
func TestSleepingReaderDoesNotSlowDownloads(t *testing.T) {
	t.Parallel()
	const n = 1500
	r := startResultsRun(t, n)
	var read atomic.Int64
	var hurry atomic.Bool // set once the check is made: read the rest at once
	var out strings.Builder
	readDone := make(chan error, 1)
	go func() {
		br := bufio.NewReader(r.out)
		for {
			line, err := br.ReadString('\n')
			out.WriteString(line)
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				readDone <- err
				return
			}
			read.Add(1)
			if !hurry.Load() {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	r.waitServed(t, func() int { return int(read.Load()) })
	if got := read.Load(); got >= n/2 {
		t.Errorf("the reader had taken %d result lines when the server had served all %d: the downloads kept pace with the reader", got, n)
	}
	hurry.Store(true)
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	r.check(t, out.String())
}

// resultsRun is a multiget run of n small files with --json results on a
// pipe the test reads as it likes.
type resultsRun struct {
	n      int
	served *atomic.Int64
	cmd    *exec.Cmd
	out    *os.File
	stderr *bytes.Buffer
}

func startResultsRun(t *testing.T, n int) *resultsRun {
	t.Helper()
	r := &resultsRun{n: n, served: new(atomic.Int64), stderr: new(bytes.Buffer)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.served.Add(1)
		_, _ = io.WriteString(w, "0123456789")
	}))
	t.Cleanup(srv.Close)
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
	t.Cleanup(func() { pr.Close() })
	r.out = pr
	r.cmd = exec.Command(filepath.Join(binDir, "multiget"), "-i", "list.txt", "-d", "out", "--json", "-j", "16")
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = pw, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	return r
}

// waitServed waits until the server has answered all n requests; read
// says how many result lines the reader has taken, for the failure message.
func (r *resultsRun) waitServed(t *testing.T, read func() int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for r.served.Load() < int64(r.n) {
		if time.Now().After(deadline) {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
			t.Fatalf("the server saw %d of %d requests while the reader took %d result lines: the downloads waited for the reader", r.served.Load(), r.n, read())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// check waits for the run and checks its results: one ok line per file.
func (r *resultsRun) check(t *testing.T, out string) {
	t.Helper()
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("multiget: %v; stderr:\n%s", err, r.stderr.String())
	}
	if lines := strings.Count(out, "\n"); lines != r.n {
		t.Errorf("%d result lines, want %d", lines, r.n)
	}
	if got := strings.Count(out, `"status":"ok"`); got != r.n {
		t.Errorf("%d ok results, want %d", got, r.n)
	}
}
