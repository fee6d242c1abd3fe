package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseVariant(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mg-old")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, off, env, bin, err string
	}{
		{in: "nohand:off=handover", off: "handover"},
		{in: "plain:off=bigbuf,unnamed", off: "bigbuf,unnamed"},
		{in: "old:bin=" + bin, bin: bin},
		{in: "mmap:env=GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304", env: "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304"},
		{in: "x:env=NOEQUALS", err: "NAME:env=KEY=VALUE"},
		{in: "old:bin=/nonexistent/mg", err: "is not an executable file"},
		{in: "Bad:off=handover", err: "NAME of a-z"},
		{in: "nohand", err: "write NAME:off=WORDS"},
		{in: "x:off=", err: "write NAME:off=WORDS"},
		{in: "x:arg=A", err: "write NAME:off=WORDS"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, err := parseVariant(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || v.off != tc.off || v.env != tc.env || v.bin != tc.bin {
				t.Fatalf("%+v, %v", v, err)
			}
		})
	}
}

func TestVariantsRunBesideMultiget(t *testing.T) {
	var sb strings.Builder
	bin := filepath.Join(t.TempDir(), "mg-old")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"--workloads", "1,6", "--variant", "nohand:off=handover", "--variant", "old:bin=" + bin,
		"-cacert", "/ca.pem", "-multiget", "/mg"}, &sb)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	have := map[string]string{"multiget": "/mg", "curl": "/curl", "wget2": "/wget2", "aria2c": "/aria2c", "axel": "/axel"}
	b := &builder{cfg: cfg, sz: sizesFor(true), lists: dir, outs: dir, split: true, have: have, multigetDefaultJ: "8"}
	ws, err := b.build()
	if err != nil {
		t.Fatal(err)
	}
	addVariants(ws, cfg.variants)
	for _, w := range ws {
		var names []string
		for _, j := range w.jobs {
			names = append(names, j.name())
			if strings.HasPrefix(j.tool, "multiget") && !slices.Contains(j.argv, j.outDir) {
				t.Errorf("w%d %s: %v does not write to its own dir %s", w.id, j.name(), j.argv, j.outDir)
			}
			switch j.tool {
			case "multiget:nohand":
				if j.argv[0] != "/mg" || len(j.env) != 1 || j.env[0] != "MULTIGET_OFF=handover" || !strings.HasSuffix(j.outDir, "-nohand") {
					t.Errorf("w%d nohand: %v env %v dir %s", w.id, j.argv, j.env, j.outDir)
				}
			case "multiget:old":
				if j.argv[0] != bin || len(j.env) != 0 {
					t.Errorf("w%d old: %v env %v", w.id, j.argv, j.env)
				}
			}
		}
		got := strings.Join(names, "|")
		want := "multiget|multiget:nohand|multiget:old|curl|wget2|aria2c"
		if w.id == 6 {
			want = "multiget (5k list)|multiget:nohand (5k list)|multiget:old (5k list)|multiget (50k list)|multiget:nohand (50k list)|multiget:old (50k list)" // --quick sizes
		}
		if got != want {
			t.Errorf("w%d jobs %s, want %s", w.id, got, want)
		}
	}
}
