package main

import "strings"

// curlQuote quotes s for a curl -K config file.
func curlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// The peers' defaults for transfers at once (curl 7.88's PARALLEL_DEFAULT,
// wget2's --max-threads, aria2c's --max-concurrent-downloads), said in the
// notes of the defaults rows.
const (
	curlDefaultParallel = "50"
	wget2DefaultThreads = "5"
	aria2DefaultJ       = "5"
)

// atOnce gives j's tool parallel transfers at once with the flag's words,
// which also label the row when labels is set; parallel 0 leaves the
// tool's default, which note says.
func (j *job) atOnce(parallel int, labels bool, note string, words ...string) {
	if parallel == 0 {
		j.note = note
		return
	}
	j.argv = append(j.argv, words...)
	if labels {
		j.label = strings.Join(words, " ")
	}
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
