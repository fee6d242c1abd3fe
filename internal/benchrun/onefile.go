package main

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// oneThrottled builds workload 5: one file from the throttled location,
// each tool with its own way of opening 16 connections (curl has none).
func (b *builder) oneThrottled(w *workload) error {
	u := b.cfg.httpBase + "/" + slowPath()
	w.expect = []pair{{out: slowName, src: slowPath()}}
	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c", "axel"} {
		j := b.newJob(w, tool, "")
		if b.splitJob(j, u, slowName, "16") {
			continue
		}
		out := filepath.Join(j.outDir, slowName)
		switch tool {
		case "curl":
			j.argv = []string{b.have[tool], "-q", "-s", "-o", out, u}
			j.note = "one connection"
		case "wget2":
			chunk := (b.sz.slowSize + 15) / 16
			j.argv = append([]string{b.have[tool]}, wget2Common...)
			j.argv = append(j.argv, "--max-threads=16", "--chunk-size="+strconv.FormatInt(chunk, 10), "-O", out, u)
			j.label = "--chunk-size size/16"
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
	oneConn := float64(b.sz.bigSize) / float64(w.link.rateKBs*1000)
	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c", "axel"} {
		j := b.newJob(w, tool, "")
		if b.splitJob(j, u, filepath.Base(src), strconv.Itoa(linkSplit)) {
			if tool == "aria2c" {
				j.note = "-k1M: else pieces of at least 20 MiB"
			}
			continue
		}
		if j.skip == "" {
			j.skip = fmt.Sprintf("not run: one connection, ~%.0f s a run", oneConn)
		}
	}
	return nil
}

// splitJob gives j, when its tool can fetch one file over n connections
// (multiget --split, aria2c -x/-s, axel -n), the command line that saves
// URL u as name in its output dir; false for the other tools.
func (b *builder) splitJob(j *job, u, name, n string) bool {
	switch j.tool {
	case "multiget":
		j.argv = []string{b.have[j.tool], "-q", "-d", j.outDir}
		if b.split {
			j.argv = append(j.argv, "--split", n)
			j.label = "--split " + n
		} else {
			j.note = "no --split yet: one connection"
		}
		j.argv = append(j.argv, u)
	case "aria2c":
		j.argv = append([]string{b.have[j.tool]}, aria2Common...)
		j.argv = append(j.argv, "-x"+n, "-s"+n, "-k1M", "-d", j.outDir, "-o", name, u)
		j.label = "-x" + n + " -s" + n + " -k1M"
	case "axel":
		j.argv = []string{b.have[j.tool], "-q", "-n", n, "-o", filepath.Join(j.outDir, name), u}
		j.label = "-n " + n
	default:
		return false
	}
	return true
}
