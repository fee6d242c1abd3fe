package cmd_test

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// `multiget --json ... | head -1`: once the reader of stdout has gone,
// multiget says so once on stderr, stops (no new transfers; the running
// one keeps its NAME.part), prints the summary on stderr and exits 1, the
// code the README gives for results that cannot be written, rather than
// dying of SIGPIPE (exit 141, no summary).
func TestStdoutClosedStopsTheRun(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{}) // lets /gate/ finish
	done := make(chan struct{}) // ends /hold/ at the test's end
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		body := bytes.Repeat([]byte("x"), 100)
		w.Header().Set("Content-Length", "100")
		switch {
		case strings.HasPrefix(r.URL.Path, "/gate/"), strings.HasPrefix(r.URL.Path, "/hold/"):
			w.Write(body[:10])
			w.(http.Flusher).Flush()
			wait := gate
			if strings.HasPrefix(r.URL.Path, "/hold/") {
				wait = done
			}
			select {
			case <-wait:
			case <-r.Context().Done():
				return
			}
			w.Write(body[10:])
		default:
			w.Write(body)
		}
	}))
	defer srv.Close()
	defer close(done)
	hit := func(p string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[p]
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// a, b and c start; d and e wait behind c for their host (--per-host 1,
	// "localhost" being another host than 127.0.0.1 to multiget), so no
	// transfer can start between a's result and b's.
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	cmd := exec.Command(filepath.Join(binDir, "multiget"), "--json", "--per-host", "1", "-d", out,
		srv.URL+"/fast/a", other+"/hold/c", other+"/fast/d", other+"/fast/e", srv.URL+"/gate/b")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func(format string, args ...any) {
		t.Helper()
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf(format+"\nstderr:\n%s", append(args, stderr.String())...)
	}

	// head -1: read one line, then go away.
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.Contains(line, `"source":"arg:1"`) || !strings.Contains(line, `"status":"ok"`) {
		kill("first stdout line %q, %v: want the result of arg:1", line, err)
	}
	r.Close()
	// b and c run; then b's result is the first write to the closed pipe.
	for deadline := time.Now().Add(20 * time.Second); hit("/hold/c") == 0 || hit("/gate/b") == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			kill("/hold/c or /gate/b was never requested")
		}
	}
	close(gate)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		kill("multiget did not stop after stdout was closed")
	}
	se := stderr.String()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d (%v), want 1\nstderr:\n%s", code, cmd.ProcessState, se)
	}
	const msg = "multiget: error: cannot write the results to stdout: broken pipe"
	if n := strings.Count(se, msg); n != 1 {
		t.Errorf("stderr says %q %d times, want once:\n%s", msg, n, se)
	}
	if !strings.Contains(se, "multiget: 2 ok, 0 failed, 0 skipped, 0 invalid, 3 interrupted · ") {
		t.Errorf("stderr lacks the summary (a and b ok; c aborted; d and e not started):\n%s", se)
	}
	if !strings.Contains(se, "aborted: results cannot be written to stdout") {
		t.Errorf("stderr does not say why c was aborted:\n%s", se)
	}
	for _, name := range []string{"a", "b"} {
		wantFile(t, filepath.Join(out, name), bytes.Repeat([]byte("x"), 100))
	}
	// c keeps what it has for -c, never under its final name; d and e
	// were never requested.
	wantAbsent(t, filepath.Join(out, "c"), filepath.Join(out, "d"), filepath.Join(out, "e"))
	for _, p := range []string{"/fast/d", "/fast/e"} {
		if n := hit(p); n != 0 {
			t.Errorf("%s requested %d times after stdout was closed, want 0", p, n)
		}
	}
}
