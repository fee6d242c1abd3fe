package cmd_test

// HTTP/2 streams under a small descriptor limit: a -j slot carries up to
// --streams transfers, but the transfers at once stay within what the
// limit allows, so no entry fails with EMFILE.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestStreamsWithinDescriptorLimit(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("needs prlimit(1)")
	}
	var h2, other atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			other.Add(1)
		}
		_, _ = fmt.Fprintf(w, "body of %s\n", r.URL.Path)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	const n = 400
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s/s%d\n", srv.URL, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "list.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// -j 1000 is lowered, with the warning; -j 2 is not, and its slots'
	// streams alone would exceed the limit.
	for _, j := range []string{"1000", "2"} {
		out := "out" + j
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, prlimit, "--nofile=128:128", filepath.Join(binDir, "multiget"),
			"-k", "-d", out, "--json", "-j", j, "-i", "list.txt")
		cmd.Dir = dir
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		_ = cmd.Run()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("-j %s did not finish; stderr:\n%s", j, se.String())
		}
		ok := 0
		for _, r := range parseJSONLines(t, so.String()) {
			if r.Status == "ok" {
				ok++
			} else if n-ok < 5 {
				t.Errorf("-j %s: %s: %s %s", j, r.Source, r.Status, r.Error)
			}
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 || ok != n {
			t.Errorf("-j %s: exit %d, %d of %d ok; stderr (first 2000 bytes):\n%.2000s", j, code, ok, n, se.String())
		}
		warned := strings.Contains(se.String(), "warning: -j 1000 lowered to 16, and at most 16 transfers at once, HTTP/2 streams included")
		if warned != (j == "1000") || (j == "2" && strings.Contains(se.String(), "warning")) {
			t.Errorf("-j %s: warning %v, want %v:\n%.2000s", j, warned, j == "1000", se.String())
		}
		wantFile(t, filepath.Join(dir, out, "s7"), []byte("body of /s7\n"))
	}
	if h2.Load() != 2*n || other.Load() != 0 {
		t.Errorf("%d requests over HTTP/2 and %d over others, want %d and 0", h2.Load(), other.Load(), 2*n)
	}
	noLeftovers(t, dir)
}
