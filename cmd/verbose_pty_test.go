package cmd_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// csi matches the terminal control sequences the bar draws with.
var csi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// -v on a terminal: every attempt line is written whole on a line of its
// own above the bar (never torn by a redraw, never beside the bar), and
// stdout stays empty.
func TestTerminalVerbose(t *testing.T) {
	const n, size = 20, 64 << 10
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	out := filepath.Join(dir, "out")
	term, stdout, code := ptyRun(t, []string{"TERM=xterm", "NO_COLOR=1"}, "-v", "-j", "2", "-d", out,
		"-i", genFiles(t, dir, s.srv.URL, n, size))
	if code != 0 || stdout != "" {
		t.Errorf("exit code %d, stdout %q; want 0 and empty", code, stdout)
	}
	line := regexp.MustCompile(`^multiget: \S*list\.txt:(\d+) attempt 1 http://127\.0\.0\.1:\d+/gen/\d+/f\d+: (new|reused) connection to 127\.0\.0\.1:\d+, HTTP/1\.1 200, 64\.0 KiB in \S+: ok$`)
	seen := map[string]int{}
	for _, l := range strings.Split(csi.ReplaceAllString(term, ""), "\n") {
		if !strings.Contains(l, " attempt ") {
			continue
		}
		// What a terminal shows of the line: the text after its last
		// carriage return (the bar's redraws return to column 0; the
		// terminal ends each line with "\r\n").
		l = strings.TrimSuffix(l, "\r")
		shown := strings.TrimRight(l[strings.LastIndex(l, "\r")+1:], " ")
		m := line.FindStringSubmatch(shown)
		if m == nil {
			t.Errorf("an attempt line is not whole on its own line: %q", l)
			continue
		}
		seen[m[1]]++
	}
	for i := 1; i <= n; i++ {
		if c := seen[fmt.Sprint(i)]; c != 1 {
			t.Errorf("attempt line for list.txt:%d seen %d times", i, c)
		}
	}
	checkFiles(t, out, n, size)
}
