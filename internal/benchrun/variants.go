package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// A variant is another build or setting of multiget, run beside it on every
// workload multiget runs (its own row, interleaved like every tool): what an
// optimization pays is measured by switching it off (off=WORDS sets
// MULTIGET_OFF), and what a change costs by running the build before it
// (bin=PATH).
type variant struct {
	name string
	off  string // MULTIGET_OFF for this variant, "" for none
	env  string // another KEY=VALUE for its environment, "" for none
	bin  string // another multiget binary, "" for the one under test
}

var variantName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// parseVariant reads NAME:off=WORDS, NAME:env=KEY=VALUE or NAME:bin=PATH.
func parseVariant(s string) (variant, error) {
	name, spec, ok := strings.Cut(s, ":")
	if !ok || !variantName.MatchString(name) {
		return variant{}, fmt.Errorf("--variant %q: write NAME:off=WORDS, NAME:env=KEY=VALUE or NAME:bin=PATH (NAME of a-z, 0-9, . _ -)", s)
	}
	key, val, _ := strings.Cut(spec, "=")
	v := variant{name: name}
	switch {
	case key == "off" && val != "":
		v.off = val
	case key == "env" && strings.Contains(val, "=") && !strings.HasPrefix(val, "="):
		v.env = val
	case key == "bin" && val != "":
		if fi, err := os.Stat(val); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return variant{}, fmt.Errorf("--variant %q: %s is not an executable file", s, val)
		}
		v.bin = val
	default:
		return variant{}, fmt.Errorf("--variant %q: write NAME:off=WORDS, NAME:env=KEY=VALUE or NAME:bin=PATH", s)
	}
	return v, nil
}

// addVariants puts a copy of each multiget job of ws right after it, one
// per variant.
func addVariants(ws []*workload, vs []variant) {
	if len(vs) == 0 {
		return
	}
	for _, w := range ws {
		var jobs []*job
		for _, j := range w.jobs {
			jobs = append(jobs, j)
			if j.tool != "multiget" {
				continue
			}
			for _, v := range vs {
				c := *j
				c.tool = "multiget:" + v.name
				c.outDir = j.outDir + "-" + v.name
				// Its own output dir, where the command line names one.
				c.argv = make([]string, len(j.argv))
				for i, a := range j.argv {
					c.argv[i] = strings.ReplaceAll(a, j.outDir, c.outDir)
				}
				if v.bin != "" && len(c.argv) > 0 {
					c.argv[0] = v.bin
				}
				if v.off != "" {
					c.env = []string{"MULTIGET_OFF=" + v.off}
				}
				if v.env != "" {
					c.env = []string{v.env}
				}
				jobs = append(jobs, &c)
			}
		}
		w.jobs = jobs
	}
}

// variantVersions describes each variant for the table's header.
func variantVersions(vs []variant) []string {
	var out []string
	for _, v := range vs {
		switch {
		case v.off != "":
			out = append(out, fmt.Sprintf("multiget:%s = the multiget above with MULTIGET_OFF=%s", v.name, v.off))
		case v.env != "":
			out = append(out, fmt.Sprintf("multiget:%s = the multiget above with %s", v.name, v.env))
		default:
			ver, _ := exec.Command(v.bin, "--version").CombinedOutput()
			lines := strings.SplitN(strings.TrimSpace(string(ver)), "\n", 2)
			out = append(out, fmt.Sprintf("multiget:%s = %s (%s)", v.name, strings.TrimSpace(lines[0]), v.bin))
		}
	}
	return out
}
