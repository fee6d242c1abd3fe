package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A bad MULTIGET_OFF is a usage error (exit 2) naming the variable, the bad
// word and the valid ones, before any download.
func TestBadMultigetOffIsAUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	env := map[string]string{"MULTIGET_OFF": "bigbuf,splice"}
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(k string) string { return env[k] }}
	dir := t.TempDir()
	code := Execute(context.Background(), ios, []string{"-d", dir, "http://127.0.0.1:1/a"})
	if code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	for _, want := range []string{"MULTIGET_OFF", `"splice"`, "all, unnamed, handover, earlymux, streamprobe, ramp, smallbuf, bigbuf"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %q", out.String())
	}
}
