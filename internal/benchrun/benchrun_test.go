package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseTime(t *testing.T) {
	wall, rss, err := parseTime([]byte("Command exited with non-zero status 1\n1.25 20480\n"))
	if err != nil || wall != 1.25 || rss != 20480 {
		t.Fatalf("got %v %v %v", wall, rss, err)
	}
	if _, _, err := parseTime([]byte("garbage")); err == nil {
		t.Fatal("no error for garbage")
	}
}

func TestVerify(t *testing.T) {
	www, out := t.TempDir(), t.TempDir()
	write := func(dir, name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(www, "tiny/a", "x")
	write(www, "big/b", strings.Repeat("0123456789", 100000))
	expect := []pair{{"a", "tiny/a"}, {"d/1", "tiny/a"}, {"b", "big/b"}}

	write(out, "a", "x")
	write(out, "d/1", "x")
	write(out, "b", strings.Repeat("0123456789", 100000))
	if err := verify(www, out, expect); err != nil {
		t.Fatalf("identical files: %v", err)
	}

	write(out, "stray.part", "")
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "files in the output dir") {
		t.Fatalf("extra file: %v", err)
	}
	os.Remove(filepath.Join(out, "stray.part"))

	write(out, "b", strings.Repeat("0123456789", 99999)+"012345678X")
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("changed last byte: %v", err)
	}
	write(out, "b", "short")
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "bytes, want") {
		t.Fatalf("short file: %v", err)
	}
	os.Remove(filepath.Join(out, "b"))
	if err := verify(www, out, expect); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	j := &job{runs: []result{
		{status: "ok", wall: 3, rssKB: 100},
		{status: "ok", wall: 1, rssKB: 300},
		{status: "FAILED", why: "boom"},
		{status: "ok", wall: 2, rssKB: 200},
		{status: "ok", wall: 4, rssKB: 50},
		{status: "TIMEOUT"},
	}}
	s := summarize(j)
	if s.ok != 4 || s.median != 2.5 || s.min != 1 || s.max != 4 || s.peakKB != 300 || s.failed != 1 || s.timeout != 1 || s.why != "boom" {
		t.Fatalf("got %+v", s)
	}
}

func TestFlags(t *testing.T) {
	var sb strings.Builder
	c, err := parseFlags([]string{"--quick", "--workloads", "1,3", "--tools", "curl"}, &sb)
	if err != nil || !c.quick || c.runs != 2 || !c.workloads[3] || c.workloads[2] || !c.wantTool("curl") || c.wantTool("wget2") {
		t.Fatalf("got %+v %v", c, err)
	}
	for _, bad := range [][]string{{"--workloads", "7"}, {"--tools", "wget"}, {"--runs", "-1"}, {"extra"}} {
		if _, err := parseFlags(bad, &sb); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{1: "1", 999: "999", 2000: "2,000", 200000: "200,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestOrderIsBalanced(t *testing.T) {
	for n := 1; n <= 7; n++ {
		js := make([]*job, n)
		for i := range js {
			js[i] = &job{tool: string(rune('a' + i))}
		}
		period, want := n, 1
		if n%2 == 1 {
			period, want = 2*n, 2
		}
		follows := map[[2]string]int{}
		first := map[string]int{}
		for k := 0; k < period; k++ {
			row := order(js, k)
			seen := map[string]bool{}
			for i, j := range row {
				if seen[j.tool] {
					t.Fatalf("n=%d round %d: %s twice", n, k, j.tool)
				}
				seen[j.tool] = true
				if i > 0 {
					follows[[2]string{row[i-1].tool, j.tool}]++
				}
			}
			if len(row) != n {
				t.Fatalf("n=%d round %d: %d tools", n, k, len(row))
			}
			first[row[0].tool]++
			// The order repeats with its period.
			again := order(js, k+period)
			for i := range row {
				if again[i] != row[i] {
					t.Fatalf("n=%d: round %d differs from round %d", n, k+period, k)
				}
			}
		}
		for _, a := range js {
			if n > 1 && first[a.tool] != want {
				t.Errorf("n=%d: %s first in %d rounds, want %d", n, a.tool, first[a.tool], want)
			}
			for _, b := range js {
				if a == b {
					continue
				}
				if got := follows[[2]string{a.tool, b.tool}]; got != want {
					t.Errorf("n=%d: %s right after %s %d times in %d rounds, want %d", n, b.tool, a.tool, got, period, want)
				}
			}
		}
		if names := js[0].tool; names != "a" {
			t.Errorf("order changed its argument")
		}
	}
	if len(order(nil, 3)) != 0 {
		t.Error("order(nil) is not empty")
	}
}

func TestDefaultRunsText(t *testing.T) {
	want := "15 for workloads 1-2, 7 for workloads 3-4, 5 for workloads 5-6"
	if got := defaultRunsText(); got != want {
		t.Errorf("defaultRunsText() = %q, want %q", got, want)
	}
}

func TestFlagsLink(t *testing.T) {
	var sb strings.Builder
	c, err := parseFlags([]string{"--link"}, &sb)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{11, 12, 13, 14, 15, 16, 17, 18, 19} {
		if !c.workloads[id] {
			t.Errorf("--link: workload %d not selected", id)
		}
	}
	if len(c.workloads) != 9 || !c.selectsLink() {
		t.Errorf("--link: got %v", c.workloads)
	}

	c, err = parseFlags([]string{"--link", "--quick", "--workloads", "11,15"}, &sb)
	if err != nil || len(c.workloads) != 2 || !c.workloads[15] || c.runs != 2 {
		t.Fatalf("--link --workloads 11,15: %+v %v", c.workloads, err)
	}
	if _, err := parseFlags([]string{"--link", "--workloads", "1,11"}, &sb); err == nil || !strings.Contains(err.Error(), "not a link workload") {
		t.Errorf("--link with a loopback id: %v", err)
	}

	// Without --link the default stays the loopback group.
	c, err = parseFlags(nil, &sb)
	if err != nil || len(c.workloads) != 6 || c.selectsLink() {
		t.Fatalf("defaults: %v %v", c.workloads, err)
	}
	// Link ids also work by --workloads alone, and ranges span the gap.
	c, err = parseFlags([]string{"--workloads", "5-12"}, &sb)
	if err != nil || len(c.workloads) != 4 || !c.workloads[5] || !c.workloads[6] || !c.workloads[11] || !c.workloads[12] || !c.selectsLink() {
		t.Fatalf("--workloads 5-12: %v %v", c.workloads, err)
	}
	for _, bad := range []string{"8", "10-11", "12-11", "x", "11-"} {
		if _, err := parseFlags([]string{"--workloads", bad}, &sb); err == nil {
			t.Errorf("--workloads %q: no error", bad)
		}
	}
}

func TestCheckRunFlagsLink(t *testing.T) {
	var sb strings.Builder
	base := []string{"-work", "w", "-www", "w", "-http", "h", "-https", "h", "-cacert", "c", "-multiget", "m"}
	c, err := parseFlags(append(base, "--link"), &sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.checkRunFlags(); err != errNoToxiproxy {
		t.Errorf("link without toxiproxy: %v", err)
	}
	c, _ = parseFlags(append(base, "--link", "-toxiproxy", "http://x", "-link-http", "http://y", "-link-https", "https://z"), &sb)
	if err := c.checkRunFlags(); err != errNoToxiproxy {
		t.Errorf("workload 18 without its proxy: %v", err)
	}
	c, _ = parseFlags(append(base, "--link", "--workloads", "19", "-toxiproxy", "http://x", "-link-http", "http://y", "-link-https", "https://z"), &sb)
	if err := c.checkRunFlags(); err != errNoToxiproxy {
		t.Errorf("workload 19 without 18's proxy: %v", err)
	}
	c, _ = parseFlags(append(base, "--link", "--workloads", "11-17", "-toxiproxy", "http://x", "-link-http", "http://y", "-link-https", "https://z"), &sb)
	if err := c.checkRunFlags(); err != nil {
		t.Errorf("link with toxiproxy, workload 18 left out: %v", err)
	}
	c, _ = parseFlags(append(base, "--link", "-toxiproxy", "http://x", "-link-http", "http://y", "-link-https", "https://z", "-link-https-few", "https://f"), &sb)
	if err := c.checkRunFlags(); err != nil {
		t.Errorf("link with toxiproxy: %v", err)
	}
	c, _ = parseFlags(base, &sb)
	if err := c.checkRunFlags(); err != nil {
		t.Errorf("loopback needs no toxiproxy: %v", err)
	}
}

func TestUsesLink(t *testing.T) {
	for args, want := range map[string]string{"--link": "yes\n", "--workloads 1,2": "no\n", "--workloads 3,16": "yes\n"} {
		var out, errb strings.Builder
		if rc := run(append([]string{"-uses-link"}, strings.Fields(args)...), &out, &errb); rc != 0 || out.String() != want {
			t.Errorf("%s: rc %d, printed %q, want %q (%s)", args, rc, out.String(), want, errb.String())
		}
	}
}

func TestToxics(t *testing.T) {
	s, _ := linkSpecFor(11)
	ts := s.toxics()
	if len(ts) != 2 || ts[0].Type != "latency" || ts[0].Stream != "downstream" || ts[0].Attributes["latency"] != 25 ||
		ts[1].Stream != "upstream" || ts[1].Attributes["latency"] != 25 || ts[0].Toxicity != 1 {
		t.Fatalf("50 ms: %+v", ts)
	}
	odd := linkSpec{rttMS: 75}.toxics()
	if odd[0].Attributes["latency"]+odd[1].Attributes["latency"] != 75 {
		t.Errorf("75 ms split as %+v", odd)
	}
	s, _ = linkSpecFor(15)
	ts = s.toxics()
	// The latency toxic must come before the bandwidth toxic on the
	// downstream chain (toxiproxy chains toxics in the order added).
	if len(ts) != 3 || ts[2].Type != "bandwidth" || ts[2].Stream != "downstream" || ts[2].Attributes["rate"] != 5000 {
		t.Fatalf("rate: %+v", ts)
	}
	names := map[string]bool{}
	for _, x := range ts {
		if names[x.Name] {
			t.Errorf("toxic name %s twice", x.Name)
		}
		names[x.Name] = true
	}
	if got := s.describe(); got != "5,000 KB/s per connection, 50 ms RTT" {
		t.Errorf("describe: %q", got)
	}
	if s, _ := linkSpecFor(17); !slices.Equal(s.proxies(), []string{linkProxyHTTPS}) || s.rttMS != 150 {
		t.Errorf("17: %+v", s)
	}
	if s, _ := linkSpecFor(18); !slices.Equal(s.proxies(), []string{linkProxyHTTPSFew}) || !s.tls || s.rttMS != 50 {
		t.Errorf("18: %+v", s)
	}
	if s, _ := linkSpecFor(19); !slices.Equal(s.proxies(), []string{linkProxyHTTPS, linkProxyHTTPSFew}) || !s.tls || s.rttMS != 50 {
		t.Errorf("19: %+v", s)
	}
}

func TestToxiproxyClient(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		calls = append(calls, r.Method+" "+r.URL.Path+" "+string(body))
		switch {
		case r.URL.Path == "/reset":
			w.WriteHeader(http.StatusNoContent)
		case strings.HasPrefix(r.URL.Path, "/proxies/https/"):
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "proxy not found", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	tp := newToxiproxy(srv.URL + "/")
	s, _ := linkSpecFor(12)
	if err := tp.set(s.proxies(), s.toxics()); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[0] != "POST /reset " ||
		calls[1] != `POST /proxies/https/toxics {"name":"latency_down","type":"latency","stream":"downstream","toxicity":1,"attributes":{"jitter":0,"latency":25}}` {
		t.Fatalf("calls: %q", calls)
	}
	if err := tp.set([]string{"nope"}, s.toxics()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown proxy: %v", err)
	}
}

func TestLinkWorkloads(t *testing.T) {
	var sb strings.Builder
	cfg, err := parseFlags([]string{"--link", "-cacert", "/ca.pem", "-multiget", "/mg", "-link-http", "http://127.0.0.1:1", "-link-https", "https://127.0.0.1:2", "-link-https-few", "https://127.0.0.1:3"}, &sb)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	have := map[string]string{"multiget": "/mg", "curl": "/curl", "wget2": "/wget2", "aria2c": "/aria2c", "axel": "/axel"}
	b := &builder{cfg: cfg, sz: sizesFor(false), lists: dir, outs: dir, split: true, have: have, multigetDefaultJ: "8"}
	ws, err := b.build()
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 9 {
		t.Fatalf("%d workloads", len(ws))
	}
	argv := func(w *workload, tool string) (*job, string) {
		for _, j := range w.jobs {
			if j.tool == tool {
				return j, strings.Join(j.argv, " ")
			}
		}
		t.Fatalf("w%d: no %s", w.id, tool)
		return nil, ""
	}
	byID := map[int]*workload{}
	for _, w := range ws {
		byID[w.id] = w
		if w.link == nil || w.link.id != w.id {
			t.Errorf("w%d: link spec %+v", w.id, w.link)
		}
	}

	w := byID[11]
	if len(w.expect) != 500 || w.title != "500 × 8 KiB, HTTP/1.1, 50 ms RTT, each tool's defaults" || w.runs != 5 {
		t.Errorf("11: %d files, %q, %d runs", len(w.expect), w.title, w.runs)
	}
	// Defaults: no flag for transfers at once.
	for tool, banned := range map[string]string{"multiget": " -j ", "curl": "--parallel-max", "wget2": "--max-threads", "aria2c": " -j"} {
		j, a := argv(w, tool)
		if strings.Contains(a, banned) || j.label != "" || !strings.HasPrefix(j.note, "defaults") {
			t.Errorf("11 %s: %q label %q note %q", tool, a, j.label, j.note)
		}
		if strings.Contains(a, "127.0.0.1:2") || strings.Contains(a, "cacert") || strings.Contains(a, "ca-certificate") {
			t.Errorf("11 %s: HTTPS in an HTTP/1.1 workload: %q", tool, a)
		}
	}
	if j, _ := argv(w, "multiget"); j.note != "defaults (-j 8)" {
		t.Errorf("multiget's defaults note: %q", j.note)
	}
	list, _ := os.ReadFile(filepath.Join(dir, "w11-multiget.txt"))
	if !strings.HasPrefix(string(list), "http://127.0.0.1:1/small/s00000.bin\n") {
		t.Errorf("11: list starts %q", string(list[:40]))
	}

	// The budget: each tool's own flag, said in its label.
	w = byID[14]
	for tool, flag := range map[string]string{"multiget": "-j 16", "curl": "--parallel-max 16", "wget2": "--max-threads=16", "aria2c": "-j16"} {
		j, a := argv(w, tool)
		if !strings.Contains(a, flag) || j.label != flag {
			t.Errorf("14 %s: %q label %q", tool, a, j.label)
		}
		if !strings.Contains(a, "/ca.pem") {
			t.Errorf("14 %s: no CA: %q", tool, a)
		}
	}

	// Two servers in one list: their files alternate, each under its own
	// name, every tool at its defaults.
	w = byID[19]
	if len(w.expect) != 1000 || w.expect[0].src != smallPath(0) || w.expect[1].src != smallPath(500) || w.expect[999].src != smallPath(999) {
		t.Errorf("19: %d files, first %v", len(w.expect), w.expect[:2])
	}
	list, _ = os.ReadFile(filepath.Join(dir, "w19-multiget.txt"))
	if !strings.HasPrefix(string(list), "https://127.0.0.1:2/small/s00000.bin\nhttps://127.0.0.1:3/small/s00500.bin\n") {
		t.Errorf("19: list starts %q", string(list[:80]))
	}
	cfgFile, _ := os.ReadFile(filepath.Join(dir, "w19-curl.cfg"))
	if !strings.Contains(string(cfgFile), `url = "https://127.0.0.1:3/small/s00500.bin"`) {
		t.Errorf("19: curl's config lacks the second server: %.200q", cfgFile)
	}
	for _, tool := range []string{"multiget", "curl", "wget2", "aria2c"} {
		if j, a := argv(w, tool); !strings.HasPrefix(j.note, "defaults") || !strings.Contains(a, "/ca.pem") {
			t.Errorf("19 %s: %q note %q", tool, a, j.note)
		}
	}

	w = byID[15]
	if w.title != "1 × 256 MiB, 5,000 KB/s per connection, 50 ms RTT, split 16 ways" || len(w.expect) != 1 || w.expect[0].src != bigPath(0) {
		t.Errorf("15: %q %v", w.title, w.expect)
	}
	for tool, want := range map[string]string{"multiget": "--split 16", "aria2c": "-x16 -s16", "axel": "-n 16"} {
		if _, a := argv(w, tool); !strings.Contains(a, want) || !strings.HasSuffix(a, "http://127.0.0.1:1/big/b0.bin") {
			t.Errorf("15 %s: %q", tool, a)
		}
	}
	if j, _ := argv(w, "curl"); j.skip == "" || !strings.Contains(j.skip, "~54 s") {
		t.Errorf("15 curl: skip %q", j.skip)
	}
	if w := byID[16]; w.link.rttMS != 150 || w.runs != 3 {
		t.Errorf("16: %+v %d runs", w.link, w.runs)
	}
}

func TestLinkRunsText(t *testing.T) {
	if got, want := linkRunsText(), "5 for workloads 11-15, 3 for workloads 16-17, 5 for workloads 18-19"; got != want {
		t.Errorf("linkRunsText() = %q, want %q", got, want)
	}
	if got := idRanges(allIDs()); got != "1-6, 11-19" {
		t.Errorf("idRanges = %q", got)
	}
}

func TestLinkCorpus(t *testing.T) {
	www := t.TempDir()
	sz := sizesFor(true)
	sz.bigSize = 3 * mib
	if err := writeCorpus(www, sz, map[int]bool{11: true, 15: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{smallPath(sz.linkSmallN - 1), bigPath(0), linkProbePath} {
		if _, err := os.Stat(filepath.Join(www, p)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(www, smallPath(sz.linkSmallN))); err == nil {
		t.Error("more small files than the link group needs")
	}
	if fi, err := os.Stat(filepath.Join(www, bigPath(0))); err != nil || fi.Size() != 3*mib {
		t.Errorf("big/b0: %v %v", fi, err)
	}
}
