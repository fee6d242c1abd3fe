package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// stats summarises a job's timed runs that passed the check.
type stats struct {
	ok               int
	median, min, max float64
	peakKB           int64
	failed, timeout  int
	why              string // first failure
}

func summarize(j *job) stats {
	var s stats
	var walls []float64
	for _, r := range j.runs {
		switch r.status {
		case "ok":
			walls = append(walls, r.wall)
			if r.rssKB > s.peakKB {
				s.peakKB = r.rssKB
			}
		case "TIMEOUT":
			s.timeout++
		default:
			s.failed++
			if s.why == "" {
				s.why = r.why
			}
		}
	}
	s.ok = len(walls)
	if s.ok == 0 {
		return s
	}
	sort.Float64s(walls)
	s.min, s.max = walls[0], walls[len(walls)-1]
	if n := len(walls); n%2 == 1 {
		s.median = walls[n/2]
	} else {
		s.median = (walls[n/2-1] + walls[n/2]) / 2
	}
	return s
}

func (b *bench) header() string {
	var sb strings.Builder
	mode := "full"
	if b.cfg.quick {
		mode = "quick"
	}
	fmt.Fprintf(&sb, "## multiget benchmark (%s), %s\n\n", mode, b.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&sb, "- machine: nproc %s, memory %s (free -g), kernel %s%s\n",
		cmdOut(fmt.Sprint(runtime.NumCPU()), "nproc"), memTotal(), cmdOut("?", "uname", "-r"), debian())
	fmt.Fprintf(&sb, "- tools: %s\n", strings.Join(b.versions, ", "))
	return sb.String()
}

// columnsLine says what the table's columns hold.
const columnsLine = "- columns: wall seconds (monotonic clock around each run; /usr/bin/time's %e, 10 ms resolution, agrees but is too coarse here) " +
	"and peak RSS (/usr/bin/time %M); median and min–max over the passing timed runs; " +
	"peak RSS is the max over them; vs multiget = tool median ÷ multiget median (above 1.00: slower than multiget)\n\n"

// loopbackMethod says how the loopback group ran.
func (b *bench) loopbackMethod() string {
	runs := fmt.Sprintf("%d timed runs per tool", b.cfg.runs)
	if b.cfg.runs == 0 {
		runs = "timed runs per tool (" + defaultRunsText() + ": the shorter the run, the more it varies)"
	}
	return fmt.Sprintf("- method: per workload, 1 warm-up then %s, tools interleaved run by run in a balanced order (each tool right after each other one equally often); "+
		"a run counts only if every file matches the corpus byte for byte; per-run timeout %s (workload 6: 2 min per 20k lines); "+
		"output dirs on %s, cleared between runs; nginx (1 worker) on 127.0.0.1\n", runs, b.cfg.timeout, b.cfg.storage) + columnsLine
}

// linkMethod says how the link group ran.
func (b *bench) linkMethod() string {
	runs := fmt.Sprintf("%d timed runs per tool", b.cfg.runs)
	if b.cfg.runs == 0 {
		runs = "timed runs per tool (" + linkRunsText() + ")"
	}
	tv := b.cfg.toxiVersion
	if tv != "" {
		tv = " " + tv
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "- link: the same nginx (1 worker) behind toxiproxy%s, a TCP proxy on 127.0.0.1 (one proxy per nginx port; TLS runs end to end through it): "+
		"a latency toxic of half the round trip on each direction and, on the split file, a bandwidth toxic of %s KB/s (1 KB = 1,000 B) per connection "+
		"from the server, set before each workload and checked by timing one request through the proxy (below); "+
		"toxiproxy delays data, not TCP's handshake, so a new connection costs one round trip less than on a real link (its TLS handshake and requests pay in full), "+
		"and the link loses nothing and caps nothing but the split file's connections\n", tv, count(linkRate))
	fmt.Fprintf(&sb, "- method: per workload, 1 warm-up then %s, tools interleaved run by run in a balanced order (each tool right after each other one equally often); "+
		"a run counts only if every file matches the corpus byte for byte; per-run timeout %s; output dirs on %s, cleared between runs\n",
		runs, b.cfg.timeout, b.cfg.storage)
	fmt.Fprintf(&sb, "- tools: \"defaults\" rows give each tool only what it needs to save the files where told, trust the CA, stay quiet and read no user config "+
		"(curl -q -s -Z -K LIST; wget2 --no-config --no-robots --no-hsts --no-hpkp --no-ocsp --no-netrc; aria2c --no-conf, overwrite, no console output); "+
		"the notes say each one's default for transfers at once (multiget's -j counts connections, each HTTP/2 connection carrying up to --streams, by default what the server allows, transfers); "+
		"wget2 runs up to 30 HTTP/2 streams per connection (--http2-request-window); "+
		"\"%d at once\" rows give each its own flag: multiget -j %d, curl --parallel-max %d, wget2 --max-threads=%d, aria2c -j%d -x1\n",
		linkBudget, linkBudget, linkBudget, linkBudget, linkBudget)
	sb.WriteString(columnsLine)
	return sb.String()
}

// probeLine lists the round trips measured through the proxy.
func probeLine(ws []*workload) string {
	var parts []string
	for _, w := range ws {
		if w.probe > 0 {
			parts = append(parts, fmt.Sprintf("%d: %.1f ms", w.id, float64(w.probe)/float64(time.Millisecond)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Round trip of one request through the proxy (on an open connection, TLS set up; the least of 3), measured after setting each workload's toxics: " +
		strings.Join(parts, ", ") + "."
}

func cmdOut(def string, name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return def
	}
	return strings.TrimSpace(string(out))
}

func memTotal() string {
	out, err := exec.Command("free", "-g").Output()
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Mem:" {
			return f[1] + " GiB total"
		}
	}
	return "?"
}

func debian() string {
	b, err := os.ReadFile("/etc/debian_version")
	if err != nil {
		return ""
	}
	return ", Debian " + strings.TrimSpace(string(b))
}

// render builds the Markdown report: header, then the link group's table
// (what users meet) and the loopback group's, one row per workload and
// tool, then the workload-6 memory verdict.
func (b *bench) render(ws []*workload) string {
	var link, loop []*workload
	for _, w := range ws {
		if w.link != nil {
			link = append(link, w)
		} else {
			loop = append(loop, w)
		}
	}
	both := len(link) > 0 && len(loop) > 0
	var sb strings.Builder
	sb.WriteString(b.header())
	if len(link) > 0 {
		if both {
			sb.WriteString("\n### Real links (toxiproxy)\n\n")
		}
		sb.WriteString(b.linkMethod())
		sb.WriteString(b.table(link))
		if p := probeLine(link); p != "" {
			sb.WriteString("\n" + p + "\n")
		}
	}
	if len(loop) > 0 {
		if both {
			sb.WriteString("\n### Loopback\n\n")
		}
		sb.WriteString(b.loopbackMethod())
		sb.WriteString(b.table(loop))
		for _, w := range loop {
			if w.id == 6 {
				sb.WriteString("\n" + b.memoryVerdict(w) + "\n")
			}
		}
	}
	return sb.String()
}

// table lays out one row per workload and tool.
func (b *bench) table(ws []*workload) string {
	rows := [][]string{{"#", "workload", "tool", "median s", "min–max s", "peak RSS MiB", "vs multiget", "notes"}}
	for _, w := range ws {
		var ref stats
		for _, j := range w.jobs {
			if j.tool == "multiget" && w.id != 6 {
				ref = summarize(j)
			}
		}
		first := true
		for _, j := range w.jobs {
			if j.skip == "not selected" {
				continue
			}
			s := summarize(j)
			row := []string{"", "", j.name(), "—", "—", "—", "—", ""}
			if first {
				row[0], row[1] = fmt.Sprint(w.id), w.title
				first = false
			}
			var notes []string
			if s.ok > 0 {
				row[3] = fmt.Sprintf("%.3f", s.median)
				row[4] = fmt.Sprintf("%.3f–%.3f", s.min, s.max)
				row[5] = fmt.Sprintf("%.1f", float64(s.peakKB)/1024)
				if w.id != 6 && ref.ok > 0 && ref.median > 0 {
					row[6] = fmt.Sprintf("%.2f", s.median/ref.median)
				}
			}
			switch {
			case j.skip != "" && len(j.runs) == 0:
				notes = append(notes, j.skip)
				if j.warm.status == "TIMEOUT" {
					row[3] = "TIMEOUT"
				}
			case s.ok == 0 && s.timeout > 0 && s.failed == 0:
				row[3] = "TIMEOUT"
			case s.ok == 0 && len(j.runs) > 0:
				row[3] = "FAILED"
			}
			if s.failed > 0 {
				notes = append(notes, fmt.Sprintf("%d/%d runs FAILED: %s", s.failed, len(j.runs), s.why))
			}
			if s.timeout > 0 {
				notes = append(notes, fmt.Sprintf("%d/%d runs TIMEOUT (> %s)", s.timeout, len(j.runs), b.limit(j)))
			}
			if j.note != "" {
				notes = append(notes, j.note)
			}
			row[7] = mdEscape(strings.Join(notes, "; "))
			rows = append(rows, row)
		}
	}
	return mdTable(rows)
}

// memoryVerdict compares multiget's peak RSS on the long list with the
// short one: the target is < 64 MiB and at most 10% above.
func (b *bench) memoryVerdict(w *workload) string {
	var short, long stats
	var shortJ, longJ *job
	for _, j := range w.jobs {
		if j.tool != "multiget" {
			continue // a variant's rows are not the verdict's
		}
		switch j.label {
		case listLabel(b.sz.listSmall):
			short, shortJ = summarize(j), j
		case listLabel(b.sz.listLarge):
			long, longJ = summarize(j), j
		}
	}
	if shortJ == nil || longJ == nil || short.ok == 0 || long.ok == 0 {
		return "Workload 6 (list memory): no verdict, a list size has no passing run."
	}
	l, s := float64(long.peakKB)/1024, float64(short.peakKB)/1024
	ratio := l / s
	verdict := "PASS"
	var why []string
	if l >= 64 {
		why = append(why, fmt.Sprintf("%.1f MiB is not below 64 MiB", l))
	}
	if ratio > 1.10 {
		why = append(why, fmt.Sprintf("%.0f%% above the %s", (ratio-1)*100, shortJ.label))
	}
	if len(why) > 0 {
		verdict = "FAIL (" + strings.Join(why, "; ") + ")"
	}
	return fmt.Sprintf("Workload 6 (list memory): peak RSS %.1f MiB with the %s, %.1f MiB with the %s, ratio %.2f; target < 64 MiB and ratio ≤ 1.10: %s",
		l, longJ.label, s, shortJ.label, ratio, verdict)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// mdTable lays out rows as a Markdown table padded to column width, so it
// reads the same in a terminal; numeric columns are right-aligned.
func mdTable(rows [][]string) string {
	right := map[int]bool{3: true, 4: true, 5: true, 6: true}
	width := make([]int, len(rows[0]))
	for i := range width {
		width[i] = 3
	}
	for _, r := range rows {
		for i, c := range r {
			if n := len([]rune(c)); n > width[i] {
				width[i] = n
			}
		}
	}
	var sb strings.Builder
	line := func(r []string) {
		sb.WriteString("|")
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right[i] {
				sb.WriteString(" " + pad + c + " |")
			} else {
				sb.WriteString(" " + c + pad + " |")
			}
		}
		sb.WriteString("\n")
	}
	line(rows[0])
	sb.WriteString("|")
	for i, wd := range width {
		if right[i] {
			sb.WriteString(" " + strings.Repeat("-", wd-1) + ": |")
		} else {
			sb.WriteString(" " + strings.Repeat("-", wd) + " |")
		}
	}
	sb.WriteString("\n")
	for _, r := range rows[1:] {
		line(r)
	}
	return sb.String()
}
