package cmd_test

// Interrupting a run: testscript's wait cannot assert an exact exit code,
// so these drive the built binary (binDir, from TestMain) with os/exec.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestInterrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  os.Signal
	}{
		{"SIGINT", os.Interrupt},
		{"SIGTERM", syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestServer(dir)
			defer s.close()
			out := filepath.Join(dir, "out")
			// -j 1: the slow transfer holds the only slot, so the two
			// /gen/ entries behind it are never started.
			cmd := exec.Command(filepath.Join(binDir, "multiget"), "-j", "1", "-d", out,
				s.srv.URL+"/slow/big", s.srv.URL+"/gen/100/a", s.srv.URL+"/gen/100/b")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			// Interrupt mid-body: the server has sent 10 of 1,000,000 bytes and
			// the transfer's .part file exists.
			deadline := time.Now().Add(20 * time.Second)
			for s.hitCount("/slow/") < 1 || !exists(filepath.Join(out, "big.part")) {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					<-done
					t.Fatalf("transfer never started; stderr:\n%s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("multiget did not exit after %v; stderr:\n%s", tc.sig, stderr.String())
			}

			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit code %d, want 130; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "multiget: interrupted: 2 entries not started") {
				t.Errorf("stderr lacks the interrupted summary:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "multiget: 0 ok, ") {
				t.Errorf("stderr lacks the count summary:\n%s", stderr.String())
			}
			if strings.Contains(stdout.String(), "ok ") {
				t.Errorf("an entry reported ok:\n%s", stdout.String())
			}
			// The interrupted transfer keeps what it received, for -c.
			if fi, err := os.Stat(filepath.Join(out, "big.part")); err != nil || fi.Size() != 10 {
				t.Errorf("out/big.part not kept with its 10 bytes: %v %v", fi, err)
			}
			for _, name := range []string{"big", "a", "a.part", "b", "b.part"} {
				if exists(filepath.Join(out, name)) {
					t.Errorf("out/%s exists after the interrupt", name)
				}
			}
			if n := s.hitCount("/gen/"); n != 0 {
				t.Errorf("server got %d /gen/ requests after the interrupt, want 0", n)
			}
		})
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
