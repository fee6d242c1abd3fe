package cmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallScript runs scripts/install into a staging DESTDIR, the way a
// packager would, and checks every installed file works: the binary runs,
// bash loads the completion, the man page is a page of multiget's flags.
func TestInstallScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary again")
	}
	dest := t.TempDir()
	c := exec.Command("../scripts/install")
	c.Env = append(os.Environ(), "DESTDIR="+dest, "PREFIX=/usr", "VERSION=v9.8.7-test")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("scripts/install: %v\n%s", err, out)
	}
	root := filepath.Join(dest, "usr")
	bin := filepath.Join(root, "bin/multiget")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "multiget v9.8.7-test\n") {
		t.Errorf("installed --version: %v\n%s", err, out)
	}
	for _, f := range []string{
		"share/bash-completion/completions/multiget",
		"share/zsh/site-functions/_multiget",
		"share/fish/vendor_completions.d/multiget.fish",
		"share/man/man1/multiget.1",
	} {
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	bash := exec.Command("bash", "-c", `source "$1" && complete -p multiget`, "-",
		filepath.Join(root, "share/bash-completion/completions/multiget"))
	if out, err := bash.CombinedOutput(); err != nil || !strings.Contains(string(out), "multiget") {
		t.Errorf("bash cannot load the completion: %v\n%s", err, out)
	}
	page, _ := os.ReadFile(filepath.Join(root, "share/man/man1/multiget.1"))
	for _, want := range []string{`.TH "MULTIGET" "1"`, "multiget v9.8.7-test", `\fB--parallel\fP`, "EXIT STATUS", `\fB--checksum-file\fP`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("man page lacks %q", want)
		}
	}
}
