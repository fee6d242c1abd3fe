package cmd_test

// Interrupting a run: testscript's wait cannot assert an exact exit code,
// so these drive the built binary (binDir, from TestMain) with os/exec.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
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

			if !diedOf(cmd.ProcessState, tc.sig) {
				t.Errorf("%v, want death by %v; stderr:\n%s", cmd.ProcessState, tc.sig, stderr.String())
			}
			// The two entries behind it were read (they are arguments) and
			// so get their results: not started.
			if !strings.Contains(stderr.String(), "multiget: 0 ok, 0 failed, 0 skipped, 0 invalid, 3 interrupted · ") ||
				!strings.Contains(stderr.String(), "multiget: interrupted\n") {
				t.Errorf("stderr lacks the interrupted summary:\n%s", stderr.String())
			}
			for _, name := range []string{"a", "b"} {
				if !regexp.MustCompile(`(?m)^INTERRUPTED arg:\d  \S+/gen/100/` + name + ` -> ` + regexp.QuoteMeta(filepath.Join(out, name)) + `: not started: interrupted\n`).MatchString(stdout.String()) {
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

// diedOf reports whether the process died of sig: after its cleanup and
// summary multiget re-raises the signal, so that a shell sees it.
func diedOf(ps *os.ProcessState, sig os.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
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
	if !diedOf(cmd.ProcessState, os.Interrupt) {
		t.Errorf("%v, want death by SIGINT; stderr:\n%s", cmd.ProcessState, stderr.String())
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
		if g := got[src]; g.Status != "interrupted" || g.Error != e {
			t.Errorf("%s: status %q error %q, want interrupted with %q", src, g.Status, g.Error, e)
		}
	}
	se := stderr.String()
	if !strings.Contains(se, "multiget: 0 ok, 0 failed, 0 skipped, 0 invalid, 3 interrupted · ") {
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

// Ctrl-C in a shell loop: the terminal sends SIGINT to the whole
// foreground group, and bash ends the loop only if its child died of the
// signal (an exit of 130 reads as a child that handled it and went on).
func TestInterruptStopsShellLoop(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	out := filepath.Join(dir, "out")
	script := `for i in 1 2 3; do "$MG" -d "$OUT$i" "$URL/slow/big$i"; echo "round $i: $?"; done; echo loop went on`
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "MG="+filepath.Join(binDir, "multiget"), "OUT="+out, "URL="+s.srv.URL)
	// A group of its own, as a job of an interactive shell is.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	done := startCmd(t, cmd)
	waitUntil(t, done, kill, "the first round never started", func() bool { return exists(filepath.Join(out+"1", "big1.part")) })
	// What a terminal's Ctrl-C does: SIGINT to every process of the group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, done, kill, "the loop did not stop", nil)
	if strings.Contains(stdout.String(), "round") || strings.Contains(stdout.String(), "loop went on") {
		t.Errorf("the loop went on after Ctrl-C:\n%s", stdout.String())
	}
	if n := s.hitCount("/slow/"); n != 1 {
		t.Errorf("%d rounds started, want 1", n)
	}
	// multiget still cleaned up and summed up before it died.
	if !strings.Contains(stderr.String(), "multiget: 0 ok, 0 failed, 0 skipped, 0 invalid, 1 interrupted · ") {
		t.Errorf("no summary before death:\n%s", stderr.String())
	}
	if !exists(filepath.Join(out+"1", "big1.part")) {
		t.Errorf("big1.part not kept for -c")
	}
}

// Two Ctrl-C in a row on a terminal showing the bar: however far the
// first one's cleanup got, the process dies of SIGINT and no bar is left
// on the screen.
func TestSecondInterruptClearsBar(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	out := filepath.Join(dir, "out")
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "multiget"), "-j", "1", "-d", out,
		s.srv.URL+"/slow/big", s.srv.URL+"/gen/100/a")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm"}
	cmd.Stdout, cmd.Stderr = tty, tty
	done := startCmd(t, cmd)
	tty.Close()
	// The reader says when the bar is up; the text is read only once it
	// has seen the end of the output.
	var term bytes.Buffer
	barUp, readDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readDone)
		buf, up := make([]byte, 4096), false
		for {
			n, err := master.Read(buf)
			term.Write(buf[:n])
			if !up && bytes.Contains(term.Bytes(), []byte("0/2")) {
				close(barUp)
				up = true
			}
			if err != nil {
				return
			}
		}
	}()
	kill := func() { _ = cmd.Process.Kill() }
	waitUntil(t, done, kill, "no bar with the transfer running", func() bool {
		select {
		case <-barUp:
			return exists(filepath.Join(out, "big.part"))
		default:
			return false
		}
	})
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Process.Signal(os.Interrupt)
	waitUntil(t, done, kill, "multiget did not die after two SIGINT", nil)
	select {
	case <-readDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal output never ended")
	}
	if !diedOf(cmd.ProcessState, os.Interrupt) {
		t.Errorf("%v, want death by SIGINT", cmd.ProcessState)
	}
	for _, ln := range render(term.String(), 80).text() {
		if strings.Contains(ln, "0/2") || strings.Contains(ln, "1/2") {
			t.Errorf("the bar is left on the screen: %q\nall output:\n%q", ln, term.String())
		}
	}
}

// startCmd starts cmd and returns what its Wait returns.
func startCmd(t *testing.T, cmd *exec.Cmd) <-chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done
}

// waitUntil polls cond (nil: waits for the process to end) for up to 20 s;
// past that it kills the process and fails with what.
func waitUntil(t *testing.T, done <-chan error, kill func(), what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if cond != nil && cond() {
			return
		}
		select {
		case <-done:
			if cond == nil {
				return
			}
			t.Fatal(what + " (the process ended)")
		case <-deadline:
			kill()
			<-done
			t.Fatal(what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
