package report

// What throttled hosts did to a run (engine.HostStats): a line each after
// the summary on stderr, and with --json a record each after the entries'.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/multiget/multiget/internal/engine"
)

// sortHosts orders hosts by name, so that the lines read the same every run.
func sortHosts(hs []engine.HostStats) []engine.HostStats {
	hs = append([]engine.HostStats(nil), hs...)
	sort.Slice(hs, func(i, j int) bool { return hs[i].Host < hs[j].Host })
	return hs
}

// hostLine says what one host did, e.g. "multiget: host https://h:443
// throttled: 40 -> 5 at once, paused 2.0s (3 x 429)".
func hostLine(h engine.HostStats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "multiget: host %s throttled: %d -> %d at once", Sanitize(h.Host), h.Peak, h.Lowest)
	if h.Paused > 0 {
		b.WriteString(", paused " + FormatDuration(h.Paused))
	}
	var why []string
	for _, code := range []int{429, 503} {
		if n := h.Throttles[code]; n > 0 {
			why = append(why, fmt.Sprintf("%d x %d", n, code))
		}
	}
	if h.ConnFails > 0 {
		why = append(why, plural(h.ConnFails, "connection")+" refused or reset")
	}
	if h.Timeouts > 0 {
		why = append(why, plural(h.Timeouts, "timeout"))
	}
	if len(why) > 0 {
		b.WriteString(" (" + strings.Join(why, ", ") + ")")
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// jsonHost is the --json record of a throttled host; "record" tells it
// from an entry's object, which has no such key.
type jsonHost struct {
	Record     string `json:"record"` // always "host"
	Host       string `json:"host"`
	Peak       int    `json:"peak"`
	Lowest     int    `json:"lowest"`
	PausedMS   int64  `json:"paused_ms"`
	Status429  int    `json:"status_429"`
	Status503  int    `json:"status_503"`
	ConnFailed int    `json:"connections_failed"`
	Timeouts   int    `json:"timeouts"`
}

func toJSONHost(h engine.HostStats) jsonHost {
	return jsonHost{
		Record: "host", Host: h.Host, Peak: h.Peak, Lowest: h.Lowest, PausedMS: h.Paused.Milliseconds(),
		Status429: h.Throttles[429], Status503: h.Throttles[503], ConnFailed: h.ConnFails, Timeouts: h.Timeouts,
	}
}

// writeHosts writes the host records on Out. Callers hold r.mu.
func (r *Reporter) writeHosts(hs []engine.HostStats) {
	for _, h := range hs {
		b, err := json.Marshal(toJSONHost(h))
		if err != nil {
			continue
		}
		r.write(r.o.Out, string(b)+"\n")
	}
}
