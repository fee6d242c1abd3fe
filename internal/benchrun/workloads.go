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
	11: 5, 12: 5, 13: 5, 14: 5, 15: 5, 16: 3, 17: 3, 18: 5, 19: 5}

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
	stdin  string   // file fed on stdin, "" for none
	env    []string // added to the tools' environment (variants)
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
