package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/multiget/multiget/internal/engine"
)

func TestAnnotation(t *testing.T) {
	tests := []struct {
		res  engine.Result
		want string
	}{
		{engine.Result{Source: "list.txt:3", URL: "https://h/x", Status: engine.StatusFailed, Error: "HTTP 404 Not Found"},
			"::error file=list.txt,line=3,title=multiget::list.txt:3 https://h/x: HTTP 404 Not Found"},
		{engine.Result{Source: "arg:2", URL: "https://h/a%20b", Status: engine.StatusFailed, Error: "bad\r\nnews"},
			"::error title=multiget::arg:2 https://h/a%2520b: bad%0D%0Anews"},
		{engine.Result{Source: "-:7", URL: "ftp://x", Status: engine.StatusInvalid, Error: "no"},
			"::error title=multiget::-:7 ftp://x: no"},
		{engine.Result{Source: "dir,a:b/l.txt:12", URL: "u", Status: engine.StatusInvalid, Error: "esc\x1b[31m"},
			`::error file=dir%2Ca%3Ab/l.txt,line=12,title=multiget::dir,a:b/l.txt:12 u: esc\x1b[31m`},
	}
	for _, tt := range tests {
		if got := Annotation(tt.res); got != tt.want {
			t.Errorf("Annotation(%+v)\n got %q\nwant %q", tt.res, got, tt.want)
		}
	}
}

// Annotations go to Err, only for failures, and never touch JSON stdout.
func TestReporterGitHub(t *testing.T) {
	var out, errb bytes.Buffer
	r := New(Options{Out: &out, Err: &errb, JSON: true, GitHub: true})
	r.Result(engine.Result{Source: "l:1", URL: "u1", Status: engine.StatusOK})
	r.Result(engine.Result{Source: "l:2", URL: "u2", Status: engine.StatusFailed, Error: "boom"})
	if strings.Contains(out.String(), "::error") {
		t.Errorf("annotation on stdout: %q", out.String())
	}
	if got := strings.Count(errb.String(), "::error "); got != 1 {
		t.Errorf("want 1 annotation on stderr, got %d: %q", got, errb.String())
	}
	if !strings.Contains(errb.String(), "::error file=l,line=2,title=multiget::l:2 u2: boom\n") {
		t.Errorf("stderr: %q", errb.String())
	}
}
