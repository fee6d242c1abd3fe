package cmd

import (
	"fmt"
	"runtime/debug"
	"strings"

	curl "github.com/andelf/go-curl"

	"github.com/multiget/multiget/internal/engine"
)

// Version is set at build time (-ldflags "-X .../cmd.Version=v1.2.3").
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	// A plain "go build" in a checkout still records the commit; it tells
	// a bug report more than "dev" alone.
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "dev"
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// versionText is what --version prints: enough for a bug report to say
// which libcurl, TLS library, protocols and features were at work.
func versionText() string {
	lib := engine.Lib()
	var b strings.Builder
	fmt.Fprintf(&b, "multiget %s\n", version())
	fmt.Fprintf(&b, "%s\n", curl.Version())
	fmt.Fprintf(&b, "libcurl: %s\n", lib.Version)
	tls := lib.SSL
	if tls == "" {
		tls = "none"
	}
	fmt.Fprintf(&b, "TLS: %s\n", tls)
	fmt.Fprintf(&b, "Protocols: %s\n", strings.Join(lib.Protocols, " "))
	fmt.Fprintf(&b, "Features: %s\n", strings.Join(lib.Features, " "))
	return b.String()
}
