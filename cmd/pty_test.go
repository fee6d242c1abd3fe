package cmd_test

// The terminal display: the built binary runs with stderr on a pseudo-
// terminal (stdout stays a pipe), as a user at a shell sees it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/multiget/multiget/internal/testserver"
)

// ptyRun runs multiget with args, stderr on a 100x24 pty and stdout on a
// pipe, in an environment of env plus PATH/HOME. It returns everything read
// from the pty, stdout, and the exit code.
func ptyRun(t *testing.T, env []string, args ...string) (term, stdout string, code int) {
	t.Helper()
	return ptyRunOn(t, ptyConf{cols: 100}, env, args...)
}

// ptyConf is the terminal a run gets: its width, and whether stdout is
// that terminal too (as at a shell without redirection) or a pipe.
type ptyConf struct {
	cols   uint16
	shared bool
	// resize, when set, is the width the terminal is given once the bar
	// has been drawn a few times (with the SIGWINCH a terminal sends).
	resize uint16
}

func ptyRunOn(t *testing.T, pc ptyConf, env []string, args ...string) (term, stdout string, code int) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: pc.cols}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "multiget"), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out bytes.Buffer
	cmd.Stdout = &out // a pipe, not the terminal
	if pc.shared {
		cmd.Stdout = tty
	}
	cmd.Stderr = tty
	if err := cmd.Start(); err != nil {
		tty.Close()
		t.Fatal(err)
	}
	// The child holds the only other end now; once it exits, reads on
	// the master end with EIO after the buffered output is drained.
	tty.Close()

	// Read concurrently: a pty whose master is not read fills up and
	// blocks the child's writes.
	var termBuf testserver.Buffer
	readDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(&termBuf, master)
		readDone <- err
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	if pc.resize != 0 {
		for strings.Count(termBuf.String(), "\x1b[K") < 6 {
			time.Sleep(5 * time.Millisecond)
		}
		// The child has the pty on stderr but not as its controlling
		// terminal, so the kernel's SIGWINCH would not reach it: send it.
		if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: pc.resize}); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Process.Signal(syscall.SIGWINCH)
		termBuf.Write([]byte("<<resized>>"))
	}
	select {
	case <-waitDone:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-waitDone
		t.Fatalf("multiget did not finish; terminal so far:\n%q", termBuf.String())
	}
	select {
	case err := <-readDone:
		var pe *os.PathError
		if err != nil && !(errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "input/output error")) {
			t.Fatalf("reading the pty: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pty output never ended after the process exited")
	}
	return termBuf.String(), out.String(), cmd.ProcessState.ExitCode()
}

// genFiles writes a list of n /gen/SIZE/fI URLs and returns its path.
func genFiles(t *testing.T, dir, srvURL string, n, size int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s/gen/%d/f%d\n", srvURL, size, i)
	}
	p := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// genFilesAnd404 is genFiles with a last line that fails (HTTP 404).
func genFilesAnd404(t *testing.T, dir, srvURL string, n, size int) string {
	t.Helper()
	list := genFiles(t, dir, srvURL, n, size)
	f, err := os.OpenFile(list, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s/status/404\n", srvURL); err != nil {
		t.Fatal(err)
	}
	return list
}

func checkFiles(t *testing.T, out string, n, size int) {
	t.Helper()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%d", i)
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(got, content(name, size)) {
			t.Errorf("%s: %d bytes, not the served content", name, len(got))
		}
		if exists(filepath.Join(out, name+".part")) {
			t.Errorf("%s.part left behind", name)
		}
	}
}

// barMoves are the bar's cursor moves and erasures.
var barMoves = regexp.MustCompile(`\x1b\[(?:[0-9]+A|K|J)`)

// lineText is what a terminal got, each redraw on a line of its own.
func lineText(term string) string {
	return strings.ReplaceAll(barMoves.ReplaceAllString(term, ""), "\r", "\n")
}

// barFrameLines are the lines of every frame of the bar drawn: each ends
// with an erasure of the rest of its line (ESC[K), colours removed.
func barFrameLines(term string) []string {
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	pieces := strings.Split(term, "\x1b[K")
	var out []string
	for _, p := range pieces[:len(pieces)-1] {
		if i := strings.LastIndexAny(p, "\r\n"); i >= 0 {
			p = p[i+1:]
		}
		p = barMoves.ReplaceAllString(p, "")
		out = append(out, sgr.ReplaceAllString(p, ""))
	}
	return out
}

// okLine matches one entry's ok line, with or without the green "ok".
var okLine = regexp.MustCompile(`(?m)^(?:\x1b\[32m)?ok(?:\x1b\[0m)? +\S*list\.txt:(\d+) `)

func TestTerminalBar(t *testing.T) {
	const n, size = 30, 64 << 10
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	list := genFiles(t, dir, s.srv.URL, n, size)
	out := filepath.Join(dir, "out")

	term, stdout, code := ptyRun(t, []string{"TERM=xterm"}, "-j", "2", "-d", out, "-i", list)
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if stdout != "" {
		t.Errorf("stdout is not empty with stderr on a terminal:\n%q", stdout)
	}
	// the bar, at its end: the full count and a bar or percentage
	if !strings.Contains(term, "30/30") {
		t.Errorf("the bar never showed 30/30:\n%q", term)
	}
	if !strings.ContainsAny(term, "|%█") {
		t.Errorf("no bar drawn:\n%q", term)
	}
	// redraws in place
	if !strings.Contains(term, "\r") && !strings.Contains(term, "\x1b[") {
		t.Errorf("no carriage return or ANSI sequence: the bar is not redrawn in place:\n%q", term)
	}
	// one ok line per entry, each once, printed above the bar
	seen := map[string]int{}
	for _, m := range okLine.FindAllStringSubmatch(lineText(term), -1) {
		seen[m[1]]++
	}
	for i := 1; i <= n; i++ {
		if c := seen[fmt.Sprint(i)]; c != 1 {
			t.Errorf("ok line for list.txt:%d seen %d times", i, c)
		}
	}
	if !regexp.MustCompile(`multiget: 30 ok, 0 failed, 0 skipped, 0 invalid`).MatchString(term) {
		t.Errorf("no summary line:\n%q", term)
	}
	// The summary is the last thing on the terminal: the bar is cleared
	// before it and not redrawn after it.
	last := term[strings.LastIndex(term, "multiget: 30 ok"):]
	if strings.Contains(last, "30/30") {
		t.Errorf("the bar was drawn again after the summary:\n%q", last)
	}
	checkFiles(t, out, n, size)
}

// NO_COLOR keeps colour off the terminal; the bar itself stays.
func TestTerminalNoColor(t *testing.T) {
	const n, size = 5, 1000
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	list := genFiles(t, dir, s.srv.URL, n, size)
	out := filepath.Join(dir, "out")

	term, stdout, code := ptyRun(t, []string{"TERM=xterm", "NO_COLOR=1"}, "-d", out, "-i", list)
	if code != 0 || stdout != "" {
		t.Errorf("exit code %d, stdout %q; want 0 and empty", code, stdout)
	}
	if strings.Contains(term, "\x1b[32m") || strings.Contains(term, "\x1b[31m") {
		t.Errorf("colour with NO_COLOR set:\n%q", term)
	}
	if c := len(okLine.FindAllString(lineText(term), -1)); c != n {
		t.Errorf("%d ok lines, want %d:\n%q", c, n, term)
	}
	checkFiles(t, out, n, size)
}

// -q on a terminal: no bar, no ok lines, only failures and the summary.
func TestTerminalQuiet(t *testing.T) {
	const n, size = 5, 1000
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	list := genFilesAnd404(t, dir, s.srv.URL, n, size)
	out := filepath.Join(dir, "out")

	term, stdout, code := ptyRun(t, []string{"TERM=xterm"}, "-q", "-d", out, "-i", list)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	// With no bar (-q), lines go to stdout as on a pipe; failures also
	// to the terminal.
	if !regexp.MustCompile(`^FAILED +\S*list\.txt:6 .*HTTP 404.*\n$`).MatchString(stdout) {
		t.Errorf("stdout is not just the failure: %q", stdout)
	}
	if okLine.MatchString(term) {
		t.Errorf("ok lines with -q:\n%q", term)
	}
	if strings.Contains(term, "/6") {
		t.Errorf("a bar with -q:\n%q", term)
	}
	if !regexp.MustCompile(`FAILED +\S*list\.txt:6 .*HTTP 404`).MatchString(term) {
		t.Errorf("the failure is not shown:\n%q", term)
	}
	if !strings.Contains(term, "multiget: 5 ok, ") {
		t.Errorf("no summary:\n%q", term)
	}
	checkFiles(t, out, n, size)
}

// -q with an explicit --progress bar: the bar is drawn (the flag wins over
// -q's default), failures above it, no ok lines.
func TestTerminalQuietExplicitBar(t *testing.T) {
	const n, size = 5, 1000
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	list := genFilesAnd404(t, dir, s.srv.URL, n, size)
	out := filepath.Join(dir, "out")

	term, stdout, code := ptyRun(t, []string{"TERM=xterm"}, "-q", "--progress", "bar", "--retry", "0", "-d", out, "-i", list)
	if code != 1 || stdout != "" {
		t.Errorf("exit code %d, stdout %q; want 1 and nothing under a bar", code, stdout)
	}
	if !strings.Contains(term, "/6") {
		t.Errorf("no bar with -q --progress bar:\n%q", term)
	}
	if okLine.MatchString(lineText(term)) {
		t.Errorf("ok lines with -q:\n%q", term)
	}
	if c := len(regexp.MustCompile(`FAILED +\S*list\.txt:6 .*HTTP 404`).FindAllString(term, -1)); c != 1 {
		t.Errorf("the failure shown %d times, want once:\n%q", c, term)
	}
	checkFiles(t, out, n, size)
}

// --json on the terminal that shows the bar: each record is a line of its
// own, never drawn over by the bar nor written after it on its line, and no
// failure is shown a second time as a FAILED line (stdout is that terminal).
func TestTerminalJSONWithBar(t *testing.T) {
	const n, size = 40, 64 << 10
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	list := genFilesAnd404(t, dir, s.srv.URL, n, size)
	out := filepath.Join(dir, "out")

	term, _, code := ptyRunOn(t, ptyConf{cols: 80, shared: true}, []string{"TERM=xterm"},
		"--json", "--progress", "bar", "--retry", "0", "-j", "2", "-d", out, "-i", list)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(term, "/41") {
		t.Errorf("no bar drawn:\n%q", term)
	}
	lines := render(term, 80).text()
	records := 0
	for _, ln := range lines {
		switch {
		case strings.HasPrefix(ln, "{"):
			var v map[string]any
			if err := json.Unmarshal([]byte(ln), &v); err != nil {
				t.Errorf("a JSON record is not whole on its line (%v): %q", err, ln)
			}
			records++
		case strings.HasPrefix(ln, "multiget: "):
		case ln == "":
		default:
			t.Errorf("a line that is neither a record nor the summary (a bar left behind, or JSON mixed with it): %q", ln)
		}
	}
	// A record longer than the width wraps, which the screen joins back
	// only in the raw stream: count the records there.
	if c := strings.Count(term, `{"source":`); c != n+1 {
		t.Errorf("%d records in the terminal output, want %d", c, n+1)
	}
	if records == 0 {
		t.Errorf("no record on the screen:\n%s", strings.Join(lines, "\n"))
	}
	if strings.Contains(term, "FAILED ") {
		t.Errorf("the failure shown again as a FAILED line on the one terminal:\n%q", term)
	}
	checkFiles(t, out, n, size)
}

// Large files on terminals of 45, 80 and 120 columns: the bar shows the
// percentage of bytes, bytes done of the total, speed and time left, and a
// line for each large running file; no line ever wraps, the bar keeps to
// four lines at most and nothing of it is left once the run ends.
func TestTerminalBarWidths(t *testing.T) {
	s := startServer(t)
	const n, size = 3, 12 << 20
	for _, cols := range []uint16{45, 80, 120} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := []string{"-d", filepath.Join(dir, "out")}
			for i := range n {
				// About 1.5 s each, all at once.
				args = append(args, s.URLFor(fmt.Sprintf("/throttle/8000000/%d/big%d-%d", size, cols, i)))
			}
			term, stdout, code := ptyRunOn(t, ptyConf{cols: cols}, []string{"TERM=xterm"}, args...)
			if code != 0 || stdout != "" {
				t.Fatalf("exit %d, stdout %q; terminal:\n%q", code, stdout, term)
			}
			sc := render(term, int(cols))
			frames := barFrameLines(term)
			if len(frames) == 0 {
				t.Fatalf("no bar drawn:\n%q", term)
			}
			for _, l := range frames {
				if w := utf8.RuneCountInString(l); w >= int(cols) {
					t.Errorf("a bar line of %d columns on a terminal of %d: %q", w, cols, l)
				}
			}
			// The main line, with every figure while all three run.
			main := regexp.MustCompile(`\d+% (\[[^]]*\] )?0/3 ·? ?[\d.]+/[\d.]+ MiB ·? ?[\d.]+ [KM]iB/s ·? ?ETA \d+s`)
			if !main.MatchString(term) {
				t.Errorf("no main line with percentage, bytes of the total, speed and ETA:\n%q", term)
			}
			// A line per large file, with its own percentage.
			for i := range n {
				name := fmt.Sprintf("big%d-%d", cols, i)
				if !regexp.MustCompile(`  \d+% [\d.]+/12\.0 MiB  \S*` + name).MatchString(term) {
					t.Errorf("no line for %s:\n%q", name, term)
				}
			}
			if m := regexp.MustCompile(`\x1b\[(\d+)A`).FindAllStringSubmatch(term, -1); len(m) == 0 {
				t.Errorf("the bar never had more than one line:\n%q", term)
			} else {
				for _, x := range m {
					if x[1] > "3" || len(x[1]) > 1 {
						t.Errorf("the bar went %s lines up: more than four lines", x[1])
					}
				}
			}
			// At the end: the ok lines and the summary, nothing of the bar.
			lines := sc.text()
			for _, ln := range lines {
				if !strings.HasPrefix(ln, "ok ") && !strings.HasPrefix(ln, "\x1b[32mok") && !strings.HasPrefix(ln, "multiget: ") {
					t.Errorf("left on the screen: %q", ln)
				}
			}
			if len(lines) != n+1 {
				t.Errorf("%d lines on the screen, want %d ok lines and the summary:\n%s", len(lines), n, strings.Join(lines, "\n"))
			}
		})
	}
}

// A terminal made narrower while the bar runs (SIGWINCH) gets frames that
// fit its new width.
func TestTerminalResize(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	args := []string{"-d", filepath.Join(dir, "out")}
	for i := range 3 {
		args = append(args, s.URLFor(fmt.Sprintf("/throttle/8000000/%d/resize-a-long-file-name-%d", 12<<20, i)))
	}
	term, _, code := ptyRunOn(t, ptyConf{cols: 120, resize: 45}, []string{"TERM=xterm"}, args...)
	if code != 0 {
		t.Fatalf("exit %d; terminal:\n%q", code, term)
	}
	before, after, ok := strings.Cut(term, "<<resized>>")
	if !ok {
		t.Fatal("the terminal was never resized")
	}
	wide := 0
	for _, l := range barFrameLines(before) {
		wide = max(wide, utf8.RuneCountInString(l))
	}
	if wide < 45 {
		t.Fatalf("before the resize no bar line was wider than 45 columns (%d): the test proves nothing", wide)
	}
	// The frame being drawn as the signal came may still be wide; the
	// ones after it fit.
	frames := barFrameLines(after)
	if len(frames) < 8 {
		t.Fatalf("only %d bar lines after the resize:\n%q", len(frames), after)
	}
	for _, l := range frames[4:] {
		if w := utf8.RuneCountInString(l); w >= 45 {
			t.Errorf("a bar line of %d columns after the terminal became 45 wide: %q", w, l)
		}
	}
}
