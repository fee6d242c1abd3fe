package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

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
