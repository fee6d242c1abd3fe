package cmd_test

// Each failure once per destination a person reads: stdout carries the
// results, stderr a copy of each failure only when it is not the same
// file as stdout (2>&1, one terminal).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runStreams runs multiget with stdout and stderr on files: one file for
// both when shared (as 2>&1 makes it), else two. It returns their text.
func runStreams(t *testing.T, shared bool, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	so, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	se := so
	if !shared {
		if se, err = os.Create(filepath.Join(dir, "stderr")); err != nil {
			t.Fatal(err)
		}
		defer se.Close()
	}
	cmd := exec.Command(filepath.Join(binDir, "multiget"), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	cmd.Stdout, cmd.Stderr = so, se
	if err := cmd.Run(); cmd.ProcessState == nil {
		t.Fatal(err)
	}
	read := func(f *os.File) string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if shared {
		return read(so), ""
	}
	return read(so), read(se)
}

func TestFailureOncePerDestination(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(dir)
	defer s.close()
	if err := os.MkdirAll(filepath.Join(dir, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "srv", "good"), []byte("good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.txt")
	body := fmt.Sprintf("%s/srv/good\n%s/status/404\nfile:///etc/passwd\n", s.srv.URL, s.srv.URL)
	if err := os.WriteFile(list, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	count := func(text, re string) int {
		return len(regexp.MustCompile(`(?m)`+re).FindAllString(text, -1))
	}
	failed, invalid := `^FAILED +\S*list\.txt:2 .*HTTP 404`, `^INVALID +\S*list\.txt:3 `
	summary := `^multiget: 1 ok, 1 failed, 0 skipped, 1 invalid`
	for _, progress := range []string{"none", "plain"} {
		args := func(out string, more ...string) []string {
			return append([]string{"--retry", "0", "--progress", progress, "-d", filepath.Join(dir, out), "-i", list}, more...)
		}
		t.Run(progress+"/shared", func(t *testing.T) {
			log, _ := runStreams(t, true, nil, args("o1")...)
			for _, re := range []string{failed, invalid, `^ok +\S*list\.txt:1 `, summary} {
				if n := count(log, re); n != 1 {
					t.Errorf("%q %d times in the shared log, want once:\n%s", re, n, log)
				}
			}
		})
		t.Run(progress+"/separate", func(t *testing.T) {
			stdout, stderr := runStreams(t, false, nil, args("o2")...)
			for _, re := range []string{failed, invalid} {
				if n, m := count(stdout, re), count(stderr, re); n != 1 || m != 1 {
					t.Errorf("%q %d times on stdout and %d on stderr, want once on each:\nstdout:\n%s\nstderr:\n%s", re, n, m, stdout, stderr)
				}
			}
			if count(stdout, `^multiget:`) != 0 || count(stderr, summary) != 1 || count(stderr, `^ok `) != 0 {
				t.Errorf("stdout must hold results only, stderr the summary and failures:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
		// Under GitHub Actions the annotation is the stderr copy, not a
		// third line; a shared log has the result lines only.
		t.Run(progress+"/github", func(t *testing.T) {
			env := []string{"GITHUB_ACTIONS=true"}
			stdout, stderr := runStreams(t, false, env, args("o3")...)
			if count(stdout, failed) != 1 || count(stderr, failed) != 0 || count(stderr, `^::error file=\S*list\.txt,line=2,`) != 1 {
				t.Errorf("want the FAILED line on stdout and its annotation alone on stderr:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			log, _ := runStreams(t, true, env, args("o4")...)
			if count(log, failed) != 1 || strings.Contains(log, "::error") {
				t.Errorf("want the FAILED line once and no annotation in a shared log:\n%s", log)
			}
		})
		t.Run(progress+"/json", func(t *testing.T) {
			log, _ := runStreams(t, true, nil, args("o5", "--json")...)
			if count(log, `^\{"source":"\S*list\.txt:2".*"status":"failed"`) != 1 || count(log, failed) != 0 || count(log, summary) != 1 {
				t.Errorf("want the JSON result alone in a shared log:\n%s", log)
			}
			stdout, stderr := runStreams(t, false, nil, args("o6", "--json")...)
			if count(stdout, `^\{`) != 3 || count(stdout, failed) != 0 || count(stderr, failed) != 1 {
				t.Errorf("want JSON on stdout and the failure line on stderr:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}
