package cmd_test

import (
	"testing"

	"github.com/multiget/multiget/cmd"
)

// Colour only on a terminal, never with NO_COLOR (any value) or TERM=dumb.
// (The pseudo-terminal tests check the same on a real bar.)
func TestColor(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	tests := []struct {
		name string
		tty  bool
		env  map[string]string
		want bool
	}{
		{"terminal", true, map[string]string{"TERM": "xterm"}, true},
		{"not a terminal", false, map[string]string{"TERM": "xterm"}, false},
		{"NO_COLOR", true, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{"NO_COLOR any value", true, map[string]string{"NO_COLOR": "no"}, false},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, false},
		{"GitHub Actions log", false, map[string]string{"GITHUB_ACTIONS": "true"}, false},
	}
	for _, tt := range tests {
		s := &cmd.IOStreams{StderrTTY: tt.tty, Getenv: env(tt.env)}
		if got := s.Color(); got != tt.want {
			t.Errorf("%s: Color() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
