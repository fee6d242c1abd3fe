package cmd_test

// Two multiget processes on one directory whose lists overlap: a NAME.part
// belongs to the process that created it until it is renamed or removed.
// The other process never truncates, writes, removes or renames it (nor its
// .meta): its entry waits for its retries and then fails naming the .part
// and saying another process is writing it. Every file reported ok holds
// exactly the server's bytes.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multiget/multiget/internal/testserver"
)

// overlapRun starts run A on a throttled shared entry (plus one of its
// own), waits until A's shared .part holds data, then runs B on the same
// --dir with the shared path served much slower (so that, were B to write
// into A's file, A would finish first over a hole B had cut) plus an entry
// of its own, with --retry 0 and extra.
func overlapRun(t *testing.T, name string, extra ...string) {
	s := startServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	const size, own = 3000000, 300000
	part := filepath.Join(out, name+".part")
	listA := fmt.Sprintf("%s\n%s\n", s.URLFor(fmt.Sprintf("/throttle/1500000/%d/%s", size, name)),
		s.URLFor(fmt.Sprintf("/ok/%d/%s-a", own, name)))
	listB := fmt.Sprintf("%s\n%s\n", s.URLFor(fmt.Sprintf("/throttle/20000/%d/%s", size, name)),
		s.URLFor(fmt.Sprintf("/ok/%d/%s-b", own, name)))
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte(listA), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte(listB), 0o644); err != nil {
		t.Fatal(err)
	}
	var soA, seA bytes.Buffer
	cmdA, doneA := startMG(t, dir, &soA, &seA, "-d", "out", "--json", "-i", "a.txt")
	waitPart(t, part, doneA, &seA)

	var soB, seB bytes.Buffer
	cmdB, doneB := startMG(t, dir, &soB, &seB, append([]string{"-d", "out", "--json", "--retry", "0", "-i", "b.txt"}, extra...)...)

	// A's file first: were B writing into A's .part, A would finish first
	// (B is served at a hundredth of A's rate) over what B truncated.
	waitExit(t, doneA, "its downloads", &seA)
	rA := parseJSONLines(t, soA.String())
	if code := cmdA.ProcessState.ExitCode(); code != 0 || len(rA) != 2 {
		t.Errorf("run A: exit %d, %d results, want 0 and 2\nstdout:\n%s\nstderr:\n%s", code, len(rA), soA.String(), seA.String())
	}
	for _, r := range rA {
		if r.Status != "ok" {
			t.Errorf("run A: %+v", r)
		}
	}
	wantFile(t, filepath.Join(out, name), testserver.Content(name, size))
	wantFile(t, filepath.Join(out, name+"-a"), testserver.Content(name+"-a", own))

	waitExit(t, doneB, "its downloads", &seB)
	rB := parseJSONLines(t, soB.String())
	mB := map[string]jsonResult{}
	for _, r := range rB {
		mB[r.Source] = r
	}
	if code := cmdB.ProcessState.ExitCode(); code != 1 || len(mB) != 2 {
		t.Fatalf("run B: exit %d, %d results, want 1 and 2\nstdout:\n%s\nstderr:\n%s", code, len(mB), soB.String(), seB.String())
	}
	shared := mB["b.txt:1"]
	if shared.Status != "failed" || !strings.Contains(shared.Error, "another process is writing") ||
		!strings.Contains(shared.Error, filepath.Join("out", name+".part")) {
		t.Errorf("run B, shared entry: status %q error %q; want failed naming %s and saying another process is writing it",
			shared.Status, shared.Error, filepath.Join("out", name+".part"))
	}
	if !strings.Contains(seB.String(), "another process is writing") {
		t.Errorf("run B's stderr does not say so:\n%s", seB.String())
	}
	if b := mB["b.txt:2"]; b.Status != "ok" {
		t.Errorf("run B, own entry: %+v", b)
	}
	wantFile(t, filepath.Join(out, name+"-b"), testserver.Content(name+"-b", own))
	noLeftovers(t, dir)
}

func TestOverlappingRunsPartOwned(t *testing.T) {
	t.Parallel()
	overlapRun(t, "shared")
}

// With -c, B finds A's .part and .meta and would resume them: it must not
// (they are A's, still growing).
func TestOverlappingRunsPartOwnedContinue(t *testing.T) {
	t.Parallel()
	overlapRun(t, "sharedc", "-c")
}

// B's copy of the shared entry is small, so B writes it unnamed and links
// it; the linker's clean-up of a stale NAME.part must leave A's live one
// alone. A then renames its complete file over B's: both are ok, and the
// file is A's, whole.
func TestOverlappingRunsSmallLeavesPart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	const size, small = 3000000, 10000
	name := "sharedl"
	part := filepath.Join(out, name+".part")
	var soA, seA bytes.Buffer
	cmdA, doneA := startMG(t, dir, &soA, &seA, "-d", "out", "--json",
		s.URLFor(fmt.Sprintf("/throttle/1500000/%d/%s", size, name)))
	waitPart(t, part, doneA, &seA)
	rB := mg(t, dir, "-d", "out", "--json", "--retry", "0", s.URLFor(fmt.Sprintf("/ok/%d/%s", small, name)))
	wantOK(t, rB, single(t, rB), 1)
	select {
	case <-doneA:
	default:
		if _, err := os.Stat(part); err != nil {
			t.Errorf("run B removed run A's live %s: %v", part, err)
		}
	}
	waitExit(t, doneA, "its download", &seA)
	rA := parseJSONLines(t, soA.String())
	if code := cmdA.ProcessState.ExitCode(); code != 0 || len(rA) != 1 || rA[0].Status != "ok" {
		t.Errorf("run A: exit %d, results %+v, want 0 and ok\nstderr:\n%s", code, rA, seA.String())
	}
	wantFile(t, filepath.Join(out, name), testserver.Content(name, size))
	noLeftovers(t, dir)
}
