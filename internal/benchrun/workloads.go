package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var toolNames = []string{"multiget", "curl", "wget2", "aria2c", "axel"}

func knownTool(name string) bool {
	for _, t := range toolNames {
		if t == name {
			return true
		}
	}
	return false
}

// pair is one file a run must produce: out (relative to the tool's output
// dir) must equal src (relative to the document root).
type pair struct{ out, src string }

type workload struct {
	id     int
	title  string
	runs   int // timed runs per tool unless --runs says otherwise
	expect []pair
	jobs   []*job

	link  *linkSpec     // set: a link workload, through toxiproxy
	probe time.Duration // link workloads: one request's round trip, measured
}

// defaultRuns is how many timed runs each workload gets without --runs:
// the shorter its runs, the more they vary, and the cheaper more of them.
// The link workloads take seconds a run (tens at 150 ms): fewer runs keep
// the whole link group under 15 minutes on 2 cores.
var defaultRuns = map[int]int{1: 15, 2: 15, 3: 7, 4: 7, 5: 5, 6: 5,
	11: 5, 12: 5, 13: 5, 14: 5, 15: 5, 16: 3, 17: 3}

// defaultRunsText says defaultRuns of the loopback group in words: "15 for
// workloads 1-2, ...".
func defaultRunsText() string { return runsText(loopbackIDs) }

// linkRunsText says them for the link group.
func linkRunsText() string { return runsText(linkIDs()) }

// runsText says defaultRuns of ids (consecutive, ascending) in words.
func runsText(ids []int) string {
	var parts []string
	last := ids[len(ids)-1]
	for id := ids[0]; id <= last; {
		end := id
		for end < last && defaultRuns[end+1] == defaultRuns[id] {
			end++
		}
		w := fmt.Sprintf("workload %d", id)
		if end > id {
			w = fmt.Sprintf("workloads %d-%d", id, end)
		}
		parts = append(parts, fmt.Sprintf("%d for %s", defaultRuns[id], w))
		id = end + 1
	}
	return strings.Join(parts, ", ")
}

// job is one tool on one workload.
type job struct {
	tool   string // name in the table
	label  string // extra words after the name (e.g. "20k list")
	argv   []string
	stdin  string // file fed on stdin, "" for none
	outDir string
	note   string // always shown in the notes column
	skip   string // set: not run, this says why

	// limit overrides cfg.timeout when larger (long lists).
	limit float64
	// expect, when set, replaces the workload's expected files.
	expect []pair

	warm result
	runs []result
}

func (j *job) name() string {
	if j.label == "" {
		return j.tool
	}
	return j.tool + " (" + j.label + ")"
}

// builder writes the per-tool input files and command lines.
type builder struct {
	cfg   *config
	sz    sizes
	lists string // dir for lists and curl configs
	outs  string // dir holding one output dir per job
	split bool   // multiget has --split
	have  map[string]string

	multigetDefaultJ string // multiget's default -j, from its --help ("" unknown)
}

func (b *builder) newJob(w *workload, tool, label string) *job {
	id := fmt.Sprintf("w%d-%s", w.id, tool)
	if label != "" {
		id += "-" + strings.ReplaceAll(label, " ", "")
	}
	j := &job{tool: tool, label: label, outDir: filepath.Join(b.outs, id)}
	w.jobs = append(w.jobs, j)
	if !b.cfg.wantTool(tool) {
		j.skip = "not selected"
	} else if b.have[tool] == "" {
		j.skip = "not installed"
	}
	return j
}

func (b *builder) writeFile(name, content string) (string, error) {
	p := filepath.Join(b.lists, name)
	return p, os.WriteFile(p, []byte(content), 0o644)
}

// curlQuote quotes s for a curl -K config file.
func curlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// manyFiles builds a workload where every tool fetches the corpus files
// srcs (relative URL paths) from base, parallel at once, each saved flat
// under its base name.
func (b *builder) manyFiles(w *workload, base string, srcs []string, parallel int, tls bool) error {
	return b.manyFilesWith(w, base, srcs, parallel, tls, false)
}

// manyFilesWith is manyFiles; parallel 0 leaves every tool at its defaults
// (only what it needs to save the files where told, trust the CA, stay
// quiet and ignore user config), and labels names each tool's flag for
// parallel in its row.
func (b *builder) manyFilesWith(w *workload, base string, srcs []string, parallel int, tls, labels bool) error {
	par := strconv.Itoa(parallel)
	var urls, curlCfg, aria strings.Builder
	for _, s := range srcs {
		w.expect = append(w.expect, pair{out: filepath.Base(s), src: s})
		u := base + "/" + s
		urls.WriteString(u + "\n")
		fmt.Fprintf(&aria, "%s\n  out=%s\n", u, filepath.Base(s))
	}

	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c"} {
		j := b.newJob(w, tool, "")
		tag := fmt.Sprintf("w%d-%s", w.id, tool)
		switch tool {
		case "multiget":
			list, err := b.writeFile(tag+".txt", urls.String())
			if err != nil {
				return err
			}
			j.argv = []string{b.have[tool], "-q"}
			if parallel > 0 {
				j.argv = append(j.argv, "-j", par)
				j.label = label(labels, "-j "+par)
			} else {
				j.note = defaultsNote("-j", b.multigetDefaultJ)
			}
			j.argv = append(j.argv, "-i", list, "-d", j.outDir)
			if tls {
				j.argv = append(j.argv, "--cacert", b.cfg.cacert)
			}
		case "curl":
			curlCfg.Reset()
			for _, s := range srcs {
				fmt.Fprintf(&curlCfg, "url = %s\noutput = %s\n", curlQuote(base+"/"+s), curlQuote(filepath.Join(j.outDir, filepath.Base(s))))
			}
			cfgFile, err := b.writeFile(tag+".cfg", curlCfg.String())
			if err != nil {
				return err
			}
			// -q first: ignore any ~/.curlrc.
			j.argv = []string{b.have[tool], "-q", "-s", "-Z"}
			if parallel > 0 {
				j.argv = append(j.argv, "--parallel-max", par)
				j.label = label(labels, "--parallel-max "+par)
			} else {
				j.note = defaultsNote("--parallel-max", curlDefaultParallel)
			}
			j.argv = append(j.argv, "-K", cfgFile)
			if tls {
				j.argv = append(j.argv, "--cacert", b.cfg.cacert)
			}
		case "wget2":
			list, err := b.writeFile(tag+".txt", urls.String())
			if err != nil {
				return err
			}
			j.argv = append([]string{b.have[tool]}, wget2Common...)
			if parallel > 0 {
				j.argv = append(j.argv, "--max-threads="+par)
				j.label = label(labels, "--max-threads="+par)
			} else {
				j.note = defaultsNote("--max-threads=", wget2DefaultThreads)
			}
			j.argv = append(j.argv, "-i", list, "-P", j.outDir)
			if tls {
				j.argv = append(j.argv, "--ca-certificate="+b.cfg.cacert)
			}
		case "aria2c":
			list, err := b.writeFile(tag+".txt", aria.String())
			if err != nil {
				return err
			}
			j.argv = append([]string{b.have[tool]}, aria2Common...)
			if parallel > 0 {
				j.argv = append(j.argv, "-j"+par, "-x1")
				j.label = label(labels, "-j"+par)
			} else {
				j.note = defaultsNote("-j", aria2DefaultJ)
			}
			j.argv = append(j.argv, "-i", list, "-d", j.outDir)
			if tls {
				j.argv = append(j.argv, "--ca-certificate="+b.cfg.cacert)
				j.note = joinNotes(j.note, "no HTTP/2 in aria2: HTTP/1.1 over TLS")
			}
		}
	}
	return nil
}

// The peers' defaults for transfers at once (curl 7.88's PARALLEL_DEFAULT,
// wget2's --max-threads, aria2c's --max-concurrent-downloads), said in the
// notes of the defaults rows.
const (
	curlDefaultParallel = "50"
	wget2DefaultThreads = "5"
	aria2DefaultJ       = "5"
)

func label(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

// defaultsNote says a tool's default for transfers at once, flag (with "="
// when it takes one) and its value n: "defaults (-j 8)"; "defaults" when n
// is not known.
func defaultsNote(flag, n string) string {
	if n == "" {
		return "defaults"
	}
	if !strings.HasSuffix(flag, "=") {
		flag += " "
	}
	return "defaults (" + flag + n + ")"
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// wget2Common turns off everything but the downloads: config files, robots,
// HSTS/HPKP databases, OCSP (which would go to the network).
var wget2Common = []string{"-q", "--no-config", "--no-robots", "--no-hsts", "--no-hpkp", "--no-ocsp", "--no-netrc"}

// aria2Common silences aria2c and makes reruns overwrite.
var aria2Common = []string{
	"-q", "--console-log-level=error", "--summary-interval=0", "--download-result=hide",
	"--allow-overwrite=true", "--auto-file-renaming=false", "--no-conf=true",
}

// oneThrottled builds workload 5: one file from the throttled location,
// each tool with its own way of opening 16 connections (curl has none).
func (b *builder) oneThrottled(w *workload) error {
	u := b.cfg.httpBase + "/" + slowPath()
	w.expect = []pair{{out: slowName, src: slowPath()}}
	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c", "axel"} {
		j := b.newJob(w, tool, "")
		out := filepath.Join(j.outDir, slowName)
		switch tool {
		case "multiget":
			j.argv = []string{b.have[tool], "-q", "-d", j.outDir}
			if b.split {
				j.argv = append(j.argv, "--split", "16")
				j.label = "--split 16"
			} else {
				j.note = "no --split yet: one connection"
			}
			j.argv = append(j.argv, u)
		case "curl":
			j.argv = []string{b.have[tool], "-q", "-s", "-o", out, u}
			j.note = "one connection"
		case "wget2":
			chunk := (b.sz.slowSize + 15) / 16
			j.argv = append([]string{b.have[tool]}, wget2Common...)
			j.argv = append(j.argv, "--max-threads=16", "--chunk-size="+strconv.FormatInt(chunk, 10), "-O", out, u)
			j.label = "--chunk-size size/16"
		case "aria2c":
			j.argv = append([]string{b.have[tool]}, aria2Common...)
			j.argv = append(j.argv, "-x16", "-s16", "-k1M", "-d", j.outDir, "-o", slowName, u)
			j.label = "-x16 -s16 -k1M"
		case "axel":
			j.argv = []string{b.have[tool], "-q", "-n", "16", "-o", out, u}
			j.label = "-n 16"
		}
	}
	return nil
}

// oneSplit builds the link group's large file: one file of sz.bigSize from
// base (the proxy adds the per-connection cap), split linkSplit ways by
// each tool that can. curl and wget2 are not run: at one connection's rate
// a run would take a minute (wget2's --chunk-size came near one
// connection's time on workload 5).
func (b *builder) oneSplit(w *workload, base string) error {
	src := bigPath(0)
	u := base + "/" + src
	w.expect = []pair{{out: filepath.Base(src), src: src}}
	n := strconv.Itoa(linkSplit)
	oneConn := float64(b.sz.bigSize) / float64(w.link.rateKBs*1000)
	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c", "axel"} {
		j := b.newJob(w, tool, "")
		out := filepath.Join(j.outDir, filepath.Base(src))
		switch tool {
		case "multiget":
			j.argv = []string{b.have[tool], "-q", "-d", j.outDir}
			if b.split {
				j.argv = append(j.argv, "--split", n)
				j.label = "--split " + n
			} else {
				j.note = "no --split yet: one connection"
			}
			j.argv = append(j.argv, u)
		case "curl", "wget2":
			if j.skip == "" {
				j.skip = fmt.Sprintf("not run: one connection, ~%.0f s a run", oneConn)
			}
		case "aria2c":
			j.argv = append([]string{b.have[tool]}, aria2Common...)
			j.argv = append(j.argv, "-x"+n, "-s"+n, "-k1M", "-d", j.outDir, "-o", filepath.Base(src), u)
			j.label = "-x" + n + " -s" + n + " -k1M"
			j.note = "-k1M: else pieces of at least 20 MiB"
		case "axel":
			j.argv = []string{b.have[tool], "-q", "-n", n, "-o", out, u}
			j.label = "-n " + n
		}
	}
	return nil
}

// longList builds workload 6: multiget alone, reading lists of n lines
// from stdin, each entry a 1-byte file under its own out= name.
func (b *builder) longList(w *workload) error {
	for _, n := range []int{b.sz.listSmall, b.sz.listLarge} {
		label := listLabel(n)
		j := b.newJob(w, "multiget", label)
		var sb strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, "%s/%s out=d/%d\n", b.cfg.httpBase, tinyPath(i%b.sz.tinyN), i)
		}
		list, err := b.writeFile(fmt.Sprintf("w6-%d.txt", n), sb.String())
		if err != nil {
			return err
		}
		j.stdin = list
		j.argv = []string{b.have["multiget"], "-q", "-j", strconv.Itoa(b.sz.parallel), "-i", "-", "-d", j.outDir}
		// 120 s per 20k entries at least: the long list takes a while.
		j.limit = 120 * float64(n) / 20000
		j.expect = make([]pair, n)
		for i := range j.expect {
			j.expect[i] = pair{out: fmt.Sprintf("d/%d", i), src: tinyPath(i % b.sz.tinyN)}
		}
	}
	return nil
}

func listLabel(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk list", n/1000)
	}
	return fmt.Sprintf("%d-line list", n)
}

// findTools maps each tool to its binary ("" when missing).
func findTools(cfg *config) map[string]string {
	have := map[string]string{"multiget": cfg.multiget}
	for _, t := range toolNames[1:] {
		if p, err := exec.LookPath(t); err == nil {
			have[t] = p
		} else {
			have[t] = ""
		}
	}
	return have
}

func (b *builder) build() ([]*workload, error) {
	sz, cfg := b.sz, b.cfg
	var ws []*workload
	small := make([]string, sz.smallN)
	for i := range small {
		small[i] = smallPath(i)
	}
	tiny := make([]string, sz.tinyN)
	for i := range tiny {
		tiny[i] = tinyPath(i)
	}
	big := make([]string, sz.bigN)
	for i := range big {
		big[i] = bigPath(i)
	}
	for _, id := range allIDs() {
		if !cfg.workloads[id] {
			continue
		}
		w := &workload{id: id, runs: defaultRuns[id]}
		if cfg.runs > 0 {
			w.runs = cfg.runs
		}
		var err error
		if s, ok := linkSpecFor(id); ok {
			if err := b.linkWorkload(w, s); err != nil {
				return nil, err
			}
			ws = append(ws, w)
			continue
		}
		switch id {
		case 1:
			w.title = fmt.Sprintf("%s × %s, HTTP/1.1, %d at once", count(sz.smallN), size(int64(sz.smallSize)), sz.parallel)
			err = b.manyFiles(w, cfg.httpBase, small, sz.parallel, false)
		case 2:
			w.title = fmt.Sprintf("%s × %s, HTTPS + HTTP/2, %d at once", count(sz.smallN), size(int64(sz.smallSize)), sz.parallel)
			err = b.manyFiles(w, cfg.httpsBase, small, sz.parallel, true)
		case 3:
			w.title = fmt.Sprintf("%s × 1 B, HTTP/1.1, %d at once", count(sz.tinyN), sz.parallel)
			err = b.manyFiles(w, cfg.httpBase, tiny, sz.parallel, false)
		case 4:
			w.title = fmt.Sprintf("%d × %s, HTTP/1.1, %d at once", sz.bigN, size(sz.bigSize), sz.bigN)
			err = b.manyFiles(w, cfg.httpBase, big, sz.bigN, false)
		case 5:
			w.title = fmt.Sprintf("1 × %s, throttled 20 MB/s per connection", size(sz.slowSize))
			err = b.oneThrottled(w)
		case 6:
			w.title = fmt.Sprintf("list on stdin: %s vs %s lines of 1 B files, %d at once", count(sz.listLarge), count(sz.listSmall), sz.parallel)
			err = b.longList(w)
		}
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// count formats n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func size(n int64) string {
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%d B", n)
}
