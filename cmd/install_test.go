package cmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/multiget/multiget/cmd"
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

// Before scripts/multiget (through lib.sh) runs sudo apt-get, it says what
// it installs and why; nothing is said or run when all is installed. The
// commands it calls are stubs on PATH that log their arguments.
func TestScriptsSayWhyBeforeSudo(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub("id", "echo 1000")
	stub("sudo", `echo "sudo $*" >> "`+log+`"; echo "sudo ran" >&2`)
	for _, installed := range []bool{true, false} {
		os.Remove(log)
		if installed {
			stub("dpkg-query", "echo 'install ok installed'")
		} else {
			stub("dpkg-query", "exit 1")
		}
		c := exec.Command("bash", "-c", `. ../scripts/lib.sh && apt_install libcurl4-openssl-dev gcc`)
		c.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("apt_install: %v\n%s", err, out)
		}
		ran, _ := os.ReadFile(log)
		if installed {
			if len(out) > 0 || len(ran) > 0 {
				t.Errorf("all installed, yet it said %q and ran %q", out, ran)
			}
			continue
		}
		why := strings.Index(string(out), "needs a C compiler and libcurl's headers")
		what := strings.Index(string(out), "installing the missing Debian packages libcurl4-openssl-dev gcc with sudo apt-get")
		sudo := strings.Index(string(out), "sudo ran")
		if why < 0 || what < 0 || sudo < 0 || why > sudo || what > sudo {
			t.Errorf("it must say why and what before sudo runs; it printed:\n%s", out)
		}
		if !strings.Contains(string(ran), "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcurl4-openssl-dev gcc") {
			t.Errorf("sudo ran %q", ran)
		}
	}
}

// The Dockerfile builds what the README's Kubernetes recipe runs: a
// Debian 12 image with libcurl4 at run time, a numeric non-root user (the
// recipe's fsGroup), multiget as its entry point, taking the recipe's
// flags; the README names the image the Dockerfile says to build.
func TestDockerfileMatchesReadme(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(from) != 2 || !strings.HasSuffix(from[0][1], "-bookworm") || !strings.HasPrefix(from[1][1], "debian:bookworm") {
		t.Errorf("want a build stage and a run stage on Debian bookworm, got %v", from)
	}
	runStage := df[strings.LastIndex(df, "\nFROM "):]
	for _, want := range []string{"libcurl4 ", "ca-certificates", "COPY --from=build /out/multiget /usr/local/bin/multiget", "\nENTRYPOINT [\"multiget\"]\n"} {
		if !strings.Contains(runStage, want) {
			t.Errorf("the run stage lacks %q", want)
		}
	}
	if strings.Contains(runStage, "-dev") {
		t.Error("the run stage installs a -dev package")
	}
	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(runStage)
	if user == nil || user[1] == "0" {
		t.Fatalf("the run stage has no numeric non-root USER: %v", user)
	}
	image := regexp.MustCompile(`docker build -t (\S+) \.`).FindStringSubmatch(df)
	if image == nil {
		t.Fatal("the Dockerfile does not say how to build it")
	}
	k8s := string(readme)[strings.Index(string(readme), "kind: Job"):]
	for _, want := range []string{"image: " + image[1] + "\n", "fsGroup: " + user[2], "runAsNonRoot: true", "docker build -t " + image[1] + " ."} {
		if !strings.Contains(k8s, want) && !strings.Contains(string(readme), want) {
			t.Errorf("the README's Kubernetes recipe lacks %q", want)
		}
	}
	args := regexp.MustCompile(`args: \[(.*)\]`).FindStringSubmatch(k8s)
	if args == nil {
		t.Fatal("the recipe has no args")
	}
	root := cmd.NewRootCmd(&cmd.IOStreams{}, nil)
	for _, a := range strings.Split(args[1], ", ") {
		a = strings.Trim(a, `"`)
		name, short := strings.TrimPrefix(a, "--"), strings.TrimPrefix(a, "-")
		switch {
		case strings.HasPrefix(a, "--") && root.Flags().Lookup(name) == nil,
			!strings.HasPrefix(a, "--") && strings.HasPrefix(a, "-") && root.Flags().ShorthandLookup(short) == nil:
			t.Errorf("the recipe passes %s, which is no flag", a)
		}
	}
}

func TestLicense(t *testing.T) {
	b, err := os.ReadFile("../LICENSE")
	if err != nil || !strings.HasPrefix(string(b), "MIT License\n\nCopyright (c) 2026 the multiget authors\n") {
		t.Errorf("LICENSE: %v\n%.80s", err, b)
	}
}
