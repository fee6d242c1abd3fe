package cmd

import "testing"

// The curl-style flags (curlflags.go): the same letters as curl, or a
// usage error that says how multiget does it.
func curlCases() []optCase {
	return []optCase{
		{name: "-v is verbose, not the version", args: []string{"-v", optURL}, want: func(o *Options) { o.Verbose = true }},
		{name: "--verbose", args: []string{"--verbose", optURL}, want: func(o *Options) { o.Verbose = true }},
		{name: "-o names the single URL's file", args: []string{"-o", "x.iso", optURL}, want: func(o *Options) { o.Output, o.output = "x.iso", "x.iso" }},
		{name: "--output with a directory joins it to --dir", args: []string{"-d", "dl", "--output", "sub/x.iso", optURL},
			want: func(o *Options) { o.Output, o.output, o.Dir = "sub/x.iso", "x.iso", "dl/sub" }},
		{name: "-o of an absolute path replaces --dir", args: []string{"-o", "/tmp/q/x.iso", optURL},
			want: func(o *Options) { o.Output, o.output, o.Dir = "/tmp/q/x.iso", "x.iso", "/tmp/q" }},
		{name: "-o with several URLs is refused", args: []string{"-o", "x", optURL, "http://h/b"},
			stderr: usage("-o names the file of a single URL argument (got 2 URLs and 0 lists): for several, list them in a file with out=NAME after each URL and give it with -i"), code: ExitUsage},
		{name: "-o with -i is refused", args: []string{"-o", "x", "-i", "list"},
			stderr: usage("-o names the file of a single URL argument (got 0 URLs and 1 lists): for several, list them in a file with out=NAME after each URL and give it with -i"), code: ExitUsage},
		{name: "-o of a directory is refused", args: []string{"-o", "sub/", optURL},
			stderr: usage("-o sub/: name a file, not a directory (use -d DIR for that)"), code: ExitUsage},
		{name: "-o - is refused: multiget writes files", args: []string{"-o", "-", optURL},
			stderr: usage("-o -: multiget writes files, never to stdout (name a file, or use curl for a pipe)"), code: ExitUsage},
		{name: "--output-dir on the command line wins over dir in a config", args: []string{"--config", "c", "--output-dir", "cli", optURL},
			files: map[string]string{"c": "dir = conf\nsilent\n"},
			want:  func(o *Options) { o.Config, o.Dir, o.Quiet = "c", "cli", true }},
		{name: "--dir on the command line wins over output-dir in a config", args: []string{"--config", "c", "-d", "cli", optURL},
			files: map[string]string{"c": "output-dir = conf\ncontinue-at = -\n"},
			want:  func(o *Options) { o.Config, o.Dir, o.Continue = "c", "cli", true }},
		{name: "--output-dir is --dir", args: []string{"--output-dir", "dl", optURL}, want: func(o *Options) { o.Dir = "dl" }},
		{name: "-s is -q", args: []string{"-s", optURL}, want: func(o *Options) { o.Quiet = true }},
		{name: "--silent is --quiet", args: []string{"--silent", optURL}, want: func(o *Options) { o.Quiet = true }},
		{name: "-C - is -c", args: []string{"-C", "-", optURL}, want: func(o *Options) { o.Continue = true }},
		{name: "--continue-at=- is -c", args: []string{"--continue-at=-", optURL}, want: func(o *Options) { o.Continue = true }},
		{name: "-C with an offset is refused", args: []string{"-C", "100", optURL},
			stderr: usage(`-C/--continue-at: multiget resumes from where NAME.part ends: write -C - (or -c), not an offset`), code: ExitUsage},
		{name: "-L is accepted and changes nothing", args: []string{"-L", optURL}, want: func(o *Options) {}},
		{name: "--location is accepted", args: []string{"--location", optURL}, want: func(o *Options) {}},
		{name: "--retry-all-errors", args: []string{"--retry-all-errors", optURL}, want: func(o *Options) { o.RetryAllErrors = true }},
		{name: "-4", args: []string{"-4", optURL}, want: func(o *Options) { o.IPv4 = true }},
		{name: "--ipv6", args: []string{"--ipv6", optURL}, want: func(o *Options) { o.IPv6 = true }},
		{name: "-6 short form", args: []string{"-6", optURL}, want: func(o *Options) { o.IPv6 = true }},
		{name: "--ipv4 long form", args: []string{"--ipv4", optURL}, want: func(o *Options) { o.IPv4 = true }},
		{name: "-4 with -6 is refused", args: []string{"-4", "-6", optURL}, stderr: usage("give -4 or -6, not both"), code: ExitUsage},
		{name: "--resolve repeated, IPv6 and several addresses", args: []string{"--resolve", "h:80:127.0.0.1", "--resolve", "+h:443:[::1],10.0.0.1", optURL},
			want: func(o *Options) { o.Resolve = []string{"h:80:127.0.0.1", "+h:443:[::1],10.0.0.1"} }},
		{name: "--resolve without an address is refused", args: []string{"--resolve", "h:80", optURL},
			stderr: usage(`--resolve "h:80": write it as HOST:PORT:ADDR (an IPv6 ADDR in brackets)`), code: ExitUsage},
		{name: "--resolve with a bad port is refused", args: []string{"--resolve", "h:http:127.0.0.1", optURL},
			stderr: usage(`--resolve "h:http:127.0.0.1": port "http" is not a number from 1 to 65535`), code: ExitUsage},
		{name: "--resolve to a name is refused", args: []string{"--resolve", "h:80:other", optURL},
			stderr: usage(`--resolve "h:80:other": "other" is not an IP address: write it as HOST:PORT:ADDR (an IPv6 ADDR in brackets)`), code: ExitUsage},
		{name: "--connect-to repeated, empty parts allowed", args: []string{"--connect-to", "h:80:127.0.0.1:8080", "--connect-to", "::[::1]:", optURL},
			want: func(o *Options) { o.ConnectTo = []string{"h:80:127.0.0.1:8080", "::[::1]:"} }},
		{name: "--connect-to with three parts is refused", args: []string{"--connect-to", "h:80:other", optURL},
			stderr: usage(`--connect-to "h:80:other": write it as HOST1:PORT1:HOST2:PORT2 (an IPv6 address in brackets; empty parts mean any or the same)`), code: ExitUsage},
		{name: "--connect-to with a bad port is refused", args: []string{"--connect-to", "h:80:o:99999", optURL},
			stderr: usage(`--connect-to "h:80:o:99999": port "99999" is not a number from 1 to 65535`), code: ExitUsage},
		{name: "-u", args: []string{"-u", "mg:s3cret", optURL}, want: func(o *Options) { o.User, o.user = "mg:s3cret", "mg:s3cret" }},
		{name: "--user wins over MULTIGET_USER", args: []string{"--user", "a", optURL}, env: map[string]string{"MULTIGET_USER": "b:c"},
			want: func(o *Options) { o.User, o.user = "a", "a" }},
		{name: "MULTIGET_USER without -u", args: []string{optURL}, env: map[string]string{"MULTIGET_USER": "b:c"},
			want: func(o *Options) { o.user = "b:c" }},
		{name: "-u without a user name is refused, the password not shown", args: []string{"-u", ":s3cret", optURL},
			stderr: usage("--user: the user name is missing: write USER[:PASS]"), code: ExitUsage},
		{name: "-b name=value is a cookie string", args: []string{"-b", "a=1; b=2", optURL}, want: func(o *Options) { o.Cookie = "a=1; b=2" }},
		{name: "--cookie FILE and --cookie-jar", args: []string{"--cookie", "jar.txt", "--cookie-jar", "out.txt", optURL},
			files: map[string]string{"jar.txt": ""},
			want:  func(o *Options) { o.Cookie, o.CookieJar = "jar.txt", "out.txt" }},
		{name: "-b of the --cookie-jar file may be missing: a first run", args: []string{"-b", "jar", "--cookie-jar", "jar", optURL},
			want: func(o *Options) { o.Cookie, o.CookieJar = "jar", "jar" }},
		{name: "-b of a missing file is refused", args: []string{"-b", "jar.txt", optURL},
			stderr: usage("-b jar.txt: no such file or directory (a cookie string is name=value)"), code: ExitUsage},
		{name: "--cookie-jar in a missing directory is refused", args: []string{"--cookie-jar", "no/such/jar", optURL},
			stderr: usage("--cookie-jar no/such/jar: its directory does not exist"), code: ExitUsage},
	}
}

func TestConnectToForms(t *testing.T) {
	for _, s := range []string{"h:80:o:81", ":::", "[::1]:80:[::2]:81", "h::o:"} {
		if err := checkConnectTo(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"h:80:o", "h:80:o:81:x", "[::1:80:o:81", "h:x:o:81"} {
		if checkConnectTo(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
