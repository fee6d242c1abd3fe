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

	"golang.org/x/sys/unix"
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
			signalAndWait(t, cmd, done, tc.sig, &stderr)

			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit code %d, want 130; stderr:\n%s", code, stderr.String())
			}
			// The two entries behind it were read (they are arguments) and
			// so get their results: not started.
			if !strings.Contains(stderr.String(), "multiget: 0 ok, 3 failed, 0 skipped, 0 invalid") ||
				!strings.Contains(stderr.String(), "multiget: interrupted\n") {
				t.Errorf("stderr lacks the interrupted summary:\n%s", stderr.String())
			}
			for _, name := range []string{"a", "b"} {
				if !strings.Contains(stdout.String(), "/gen/100/"+name+" -> "+filepath.Join(out, name)+": not started: interrupted\n") {
					t.Errorf("no \"not started\" result for %s:\n%s", name, stdout.String())
				}
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

// Ctrl-C while the list on stdin is still open (its writer may add more):
// every entry read gets exactly one result, the running one aborted and
// the queued ones "not started", the summary's counts add up, and the
// entries never read are not counted at all (no "-1 entries not started").
func TestInterruptStdinOpen(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	out := filepath.Join(dir, "out")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command(filepath.Join(binDir, "multiget"), "-i", "-", "--json", "-j", "1", "-d", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The blank line ends the last entry: no option line can follow it.
	if _, err := w.WriteString(s.srv.URL + "/slow/big\n" + s.srv.URL + "/gen/100/a\n" + s.srv.URL + "/gen/100/b\n\n"); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the slow transfer runs and multiget has taken every
	// byte written to the pipe: all three entries have been read.
	deadline := time.Now().Add(20 * time.Second)
	for {
		unread, err := unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ) // FIONREAD
		if err != nil {
			t.Fatal(err)
		}
		if unread == 0 && s.hitCount("/slow/") >= 1 && exists(filepath.Join(out, "big.part")) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("transfer never started; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	signalAndWait(t, cmd, done, os.Interrupt, &stderr)
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130; stderr:\n%s", code, stderr.String())
	}
	res := parseJSONLines(t, stdout.String())
	got := map[string]jsonResult{}
	for _, x := range res {
		if _, dup := got[x.Source]; dup {
			t.Errorf("two results for %s:\n%s", x.Source, stdout.String())
		}
		got[x.Source] = x
	}
	want := map[string]string{
		"-:1": "aborted: interrupted (10 bytes kept in " + filepath.Join(out, "big.part") + " for -c)",
		"-:2": "not started: interrupted",
		"-:3": "not started: interrupted",
	}
	if len(got) != len(want) {
		t.Errorf("%d results, want %d (one per entry read):\n%s", len(got), len(want), stdout.String())
	}
	for src, e := range want {
		if g := got[src]; g.Status != "failed" || g.Error != e {
			t.Errorf("%s: status %q error %q, want failed with %q", src, g.Status, g.Error, e)
		}
	}
	se := stderr.String()
	if !strings.Contains(se, "multiget: 0 ok, 3 failed, 0 skipped, 0 invalid") {
		t.Errorf("stderr lacks a summary counting the three results:\n%s", se)
	}
	if !strings.Contains(se, "multiget: interrupted\n") || strings.Contains(se, "not started\n") {
		t.Errorf("the summary should say \"interrupted\" and count no entries it never read:\n%s", se)
	}
	if n := s.hitCount("/gen/"); n != 0 {
		t.Errorf("server got %d /gen/ requests, want 0", n)
	}
	for _, name := range []string{"big", "a", "a.part", "b", "b.part"} {
		if exists(filepath.Join(out, name)) {
			t.Errorf("out/%s exists after the interrupt", name)
		}
	}
}

// signalAndWait sends sig to the running multiget and waits for it to exit
// (at most 20 s, then it is killed and the test fails).
func signalAndWait(t *testing.T, cmd *exec.Cmd, done <-chan error, sig os.Signal, stderr *bytes.Buffer) {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("multiget did not exit after %v; stderr:\n%s", sig, stderr.String())
	}
}
