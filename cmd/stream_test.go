package cmd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
