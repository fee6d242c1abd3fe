package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type bench struct {
	cfg  *config
	log  io.Writer
	sz   sizes
	have map[string]string
	env  []string

	split    bool
	defaultJ string // multiget's default -j, from its --help
	versions []string
	started  time.Time
	toxi     *toxiproxy // set when a link workload is selected
}

// defaultJRe finds multiget's default -j in its --help.
var defaultJRe = regexp.MustCompile(`--parallel int\s+[^\n]*\(default (\d+)\)`)

type result struct {
	status   string  // "ok", "FAILED" or "TIMEOUT"
	wall     float64 // seconds, monotonic clock around the run
	timeWall float64 // seconds, /usr/bin/time %e
	rssKB    int64   // /usr/bin/time %M
	why      string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) main(stdout io.Writer) error {
	b.started = time.Now()
	b.sz = sizesFor(b.cfg.quick)
	b.have = findTools(b.cfg)
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return errors.New("/usr/bin/time is missing (Debian package time)")
	}
	help, _ := exec.Command(b.cfg.multiget, "--help").CombinedOutput()
	b.split = bytes.Contains(help, []byte("--split"))
	if m := defaultJRe.FindSubmatch(help); m != nil {
		b.defaultJ = string(m[1])
	}
	if b.cfg.selectsLink() {
		b.toxi = newToxiproxy(b.cfg.toxiAPI)
		if err := b.toxi.reset(); err != nil {
			return err
		}
	}
	b.versions = append(b.toolVersions(), variantVersions(b.cfg.variants)...)
	for _, t := range toolNames {
		if b.have[t] == "" && b.cfg.wantTool(t) {
			b.logf("%s is not installed: skipped", t)
		}
	}

	home := filepath.Join(b.cfg.work, "home")
	lists := filepath.Join(b.cfg.work, "lists")
	outs := filepath.Join(b.cfg.work, "out")
	for _, d := range []string{home, lists, outs, filepath.Join(b.cfg.work, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	b.env = toolEnv(home)

	b.logf("writing the corpus under %s", b.cfg.www)
	t0 := time.Now()
	if err := writeCorpus(b.cfg.www, b.sz, b.cfg.workloads); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	bl := &builder{cfg: b.cfg, sz: b.sz, lists: lists, outs: outs, split: b.split, have: b.have, multigetDefaultJ: b.defaultJ}
	ws, err := bl.build()
	if err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	addVariants(ws, b.cfg.variants)
	b.logf("corpus and lists ready in %.1f s", time.Since(t0).Seconds())

	for _, w := range ws {
		if w.link != nil {
			if err := b.setLink(w); err != nil {
				return fmt.Errorf("workload %d: %w", w.id, err)
			}
		}
		b.runWorkload(w)
	}
	if b.toxi != nil {
		if err := b.toxi.reset(); err != nil {
			b.logf("warning: %v", err)
		}
	}

	table := b.render(ws)
	fmt.Fprint(stdout, table)
	if b.cfg.out != "" {
		if err := os.WriteFile(b.cfg.out, []byte(table), 0o644); err != nil {
			return err
		}
		b.logf("table written to %s", b.cfg.out)
	}
	b.logf("done in %s", time.Since(b.started).Round(time.Second))
	return nil
}

// runWorkload runs one warm-up per tool, then the timed runs, the tools
// interleaved so drift hits all of them alike, in a balanced order (see
// order): over every n rounds of n tools (2n when n is odd) each tool runs
// right after each other one equally often. A run right after aria2c's is
// slower (on workload 1, multiget took 121 ms and curl 126 ms, medians of
// 10, right after aria2c, against 116.5 and 121 ms right after each
// other); a fixed order, or one merely turned by one each round, put
// multiget right after aria2c in almost every round.
func (b *bench) runWorkload(w *workload) {
	b.logf("workload %d: %s", w.id, w.title)
	active := func() []*job {
		var js []*job
		for _, j := range w.jobs {
			if j.skip == "" {
				js = append(js, j)
			}
		}
		return js
	}
	for _, j := range active() {
		j.warm = b.runOnce(w, j)
		b.report(w, j, "warm-up", j.warm)
		if j.warm.status == "TIMEOUT" {
			j.skip = fmt.Sprintf("warm-up TIMEOUT (> %s): not timed", b.limit(j))
		}
	}
	for i := 1; i <= w.runs; i++ {
		for _, j := range order(active(), i-1) {
			r := b.runOnce(w, j)
			j.runs = append(j.runs, r)
			b.report(w, j, fmt.Sprintf("run %d/%d", i, w.runs), r)
		}
	}
}

func (b *bench) report(w *workload, j *job, what string, r result) {
	if r.status == "ok" {
		b.logf("  w%d %-8s %-28s %8.3f s (%%e %.2f) %7.1f MiB", w.id, what, j.name(), r.wall, r.timeWall, float64(r.rssKB)/1024)
		return
	}
	b.logf("  w%d %-8s %-28s %s: %s", w.id, what, j.name(), r.status, r.why)
}

func (b *bench) limit(j *job) time.Duration {
	d := b.cfg.timeout
	if l := time.Duration(j.limit * float64(time.Second)); l > d {
		d = l
	}
	return d
}

// runOnce runs the job once under /usr/bin/time in a fresh output dir,
// checks its files, and clears the dir again.
func (b *bench) runOnce(w *workload, j *job) result {
	if err := os.RemoveAll(j.outDir); err != nil {
		return result{status: "FAILED", why: err.Error()}
	}
	if err := os.MkdirAll(j.outDir, 0o755); err != nil {
		return result{status: "FAILED", why: err.Error()}
	}
	defer os.RemoveAll(j.outDir)

	timeFile := filepath.Join(b.cfg.work, "time.out")
	logFile := filepath.Join(b.cfg.work, "logs", filepath.Base(j.outDir)+".log")
	os.Remove(timeFile)
	logf, err := os.Create(logFile)
	if err != nil {
		return result{status: "FAILED", why: err.Error()}
	}
	defer logf.Close()

	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%e %M", "-o", timeFile}, j.argv...)...)
	cmd.Env = append(append([]string(nil), b.env...), j.env...)
	cmd.Dir = filepath.Join(b.cfg.work, "home")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if j.stdin != "" {
		in, err := os.Open(j.stdin)
		if err != nil {
			return result{status: "FAILED", why: err.Error()}
		}
		defer in.Close()
		cmd.Stdin = in
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{status: "FAILED", why: err.Error()}
	}
	pid := cmd.Process.Pid
	runningGroup.Store(int64(pid))
	limit := b.limit(j)
	var expired atomic.Bool
	timer := time.AfterFunc(limit, func() {
		expired.Store(true)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
	waitErr := cmd.Wait()
	elapsed := time.Since(start).Seconds()
	timer.Stop()
	runningGroup.Store(0)
	// Kill anything the tool left running in its group.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if expired.Load() {
		return result{status: "TIMEOUT", why: fmt.Sprintf("killed after %s", limit)}
	}

	r := result{status: "ok"}
	tb, err := os.ReadFile(timeFile)
	if err == nil {
		r.timeWall, r.rssKB, err = parseTime(tb)
	}
	// %e has a 10 ms resolution, too coarse for the small workloads: the
	// wall time is measured here around /usr/bin/time (which adds one
	// fork+exec, well under a millisecond); %e is kept as a cross-check.
	r.wall = elapsed
	if waitErr != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			code = ee.ExitCode()
		}
		return result{status: "FAILED", wall: r.wall, rssKB: r.rssKB,
			why: fmt.Sprintf("exit status %d: %s", code, lastLines(logFile, 3))}
	}
	if err != nil {
		return result{status: "FAILED", why: "no /usr/bin/time output: " + err.Error()}
	}
	expect := w.expect
	if j.expect != nil {
		expect = j.expect
	}
	if err := verify(b.cfg.www, j.outDir, expect); err != nil {
		r.status, r.why = "FAILED", err.Error()
	}
	return r
}

// parseTime reads "%e %M" from the last line /usr/bin/time wrote (an
// earlier line may say "Command exited with non-zero status N").
func parseTime(b []byte) (wall float64, rssKB int64, err error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("unexpected /usr/bin/time output %q", string(b))
	}
	if wall, err = strconv.ParseFloat(f[0], 64); err != nil {
		return 0, 0, err
	}
	rssKB, err = strconv.ParseInt(f[1], 10, 64)
	return wall, rssKB, err
}

func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no output)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, " | ")
	if s == "" {
		return "(no output)"
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// toolEnv is the tools' environment: a private empty HOME (no user config
// files), no proxy variables (traffic must stay on 127.0.0.1), C locale.
func toolEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		if strings.HasSuffix(lk, "_proxy") || lk == "home" || lk == "curl_home" || lk == "wgetrc" ||
			lk == "xdg_config_home" || lk == "lang" || strings.HasPrefix(lk, "lc_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "LANG=C", "no_proxy=*", "NO_PROXY=*")
}

func (b *bench) toolVersions() []string {
	var vs []string
	for _, t := range toolNames {
		p := b.have[t]
		if p == "" {
			vs = append(vs, t+" (not installed)")
			continue
		}
		out, _ := exec.Command(p, "--version").CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		v := strings.Replace(strings.TrimSpace(lines[0]), " version ", " ", 1)
		if i := strings.Index(v, " - "); i > 0 {
			v = v[:i]
		}
		if i := strings.Index(v, " ("); i > 0 && t != "multiget" {
			v = v[:i]
		}
		if t == "multiget" && len(lines) > 1 {
			lib := strings.Fields(lines[1])
			if len(lib) > 0 {
				v += " (" + lib[0] + ")"
			}
		}
		vs = append(vs, v)
	}
	out, _ := exec.Command("nginx", "-v").CombinedOutput()
	v := strings.TrimSpace(string(out))
	if i := strings.LastIndex(v, ": "); i >= 0 {
		v = v[i+2:]
	}
	vs = append(vs, "server "+v)
	if b.cfg.selectsLink() {
		tv := b.cfg.toxiVersion
		if tv == "" {
			tv = "(version unknown)"
		}
		vs = append(vs, "toxiproxy "+tv)
	}
	return vs
}

// order returns the tools' order for round k (from 0): row k of a
// Williams design, a Latin square in which each tool comes right after
// each other tool exactly once over n rounds (n even) or twice over 2n
// rounds (n odd, the rows then mirrored). Row r is r, r+1, r-1, r+2,
// r-2, ... (mod n).
func order(js []*job, k int) []*job {
	n := len(js)
	if n == 0 {
		return nil
	}
	period := n
	if n%2 == 1 {
		period = 2 * n
	}
	k %= period
	r := k % n
	out := make([]*job, 0, n)
	for i := 0; i < n; i++ {
		// Offsets 0, 1, -1, 2, -2, ...
		off := (i + 1) / 2
		if i%2 == 0 {
			off = -off
		}
		out = append(out, js[((r+off)%n+n)%n])
	}
	if k >= n {
		for a, b := 0, n-1; a < b; a, b = a+1, b-1 {
			out[a], out[b] = out[b], out[a]
		}
	}
	return out
}
