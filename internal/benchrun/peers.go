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

func label(on bool, s string) string {
	if on {
		return s
	}
	return ""
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
