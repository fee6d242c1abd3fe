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
	files := make([]remote, len(srcs))
	for i, s := range srcs {
		files[i] = remote{base, s}
	}
	return b.manyRemote(w, files, parallel, tls, labels)
}

// remote is one corpus file src (relative URL path) on the server at base.
type remote struct{ base, src string }

// manyRemote is manyFilesWith for files from any servers; their base
// names must differ.
func (b *builder) manyRemote(w *workload, files []remote, parallel int, tls, labels bool) error {
	par := strconv.Itoa(parallel)
	var urls, curlCfg, aria strings.Builder
	for _, f := range files {
		w.expect = append(w.expect, pair{out: filepath.Base(f.src), src: f.src})
		u := f.base + "/" + f.src
		urls.WriteString(u + "\n")
		fmt.Fprintf(&aria, "%s\n  out=%s\n", u, filepath.Base(f.src))
	}

	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c"} {
		j := b.newJob(w, tool, "")
		// Each tool reads the URLs from a file of its own: curl a -K config
		// naming every output, aria2c a list with out= lines, the others
		// the plain list.
		tag := fmt.Sprintf("w%d-%s", w.id, tool)
		name, content := tag+".txt", urls.String()
		switch tool {
		case "curl":
			curlCfg.Reset()
			for _, f := range files {
				fmt.Fprintf(&curlCfg, "url = %s\noutput = %s\n", curlQuote(f.base+"/"+f.src), curlQuote(filepath.Join(j.outDir, filepath.Base(f.src))))
			}
			name, content = tag+".cfg", curlCfg.String()
		case "aria2c":
			content = aria.String()
		}
		in, err := b.writeFile(name, content)
		if err != nil {
			return err
		}
		switch tool {
		case "multiget":
			j.argv = []string{b.have[tool], "-q"}
			j.atOnce(parallel, labels, defaultsNote("-j", b.multigetDefaultJ), "-j", par)
			j.argv = append(j.argv, "-i", in, "-d", j.outDir)
			if tls {
				j.argv = append(j.argv, "--cacert", b.cfg.cacert)
			}
		case "curl":
			// -q first: ignore any ~/.curlrc.
			j.argv = []string{b.have[tool], "-q", "-s", "-Z"}
			j.atOnce(parallel, labels, defaultsNote("--parallel-max", curlDefaultParallel), "--parallel-max", par)
			j.argv = append(j.argv, "-K", in)
			if tls {
				j.argv = append(j.argv, "--cacert", b.cfg.cacert)
			}
		case "wget2":
			j.argv = append([]string{b.have[tool]}, wget2Common...)
			j.atOnce(parallel, labels, defaultsNote("--max-threads=", wget2DefaultThreads), "--max-threads="+par)
			j.argv = append(j.argv, "-i", in, "-P", j.outDir)
			if tls {
				j.argv = append(j.argv, "--ca-certificate="+b.cfg.cacert)
			}
		case "aria2c":
			j.argv = append([]string{b.have[tool]}, aria2Common...)
			j.atOnce(parallel, labels, defaultsNote("-j", aria2DefaultJ), "-j"+par)
			if parallel > 0 {
				j.argv = append(j.argv, "-x1")
			}
			j.argv = append(j.argv, "-i", in, "-d", j.outDir)
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
