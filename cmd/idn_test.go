package cmd_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// An internationalised host name is sent in its ASCII (punycode) form,
// whatever the locale: libcurl's own conversion reads the host in the
// process's locale, which a Go program never sets, and so failed with
// "URL using bad/illegal format" (curl 3). libcurl resolves every
// *.localhost name to loopback itself, so the test needs no DNS.
func TestIDNHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var hosts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		w.Write([]byte("payload " + r.URL.Path))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	dir := t.TempDir()
	// Upper case and the ASCII form written directly name the same host.
	list := "http://bücher.localhost:" + port + "/x\n" +
		"http://BÜCHER.localhost:" + port + "/y\n" +
		"http://xn--bcher-kva.localhost:" + port + "/z\n" +
		// Not valid IDNA: a label may not start with a hyphen.
		"http://-bücher.localhost:" + port + "/bad\n"
	for _, tree := range []bool{false, true} {
		root, sub := "out", ""
		args := []string{"--json"}
		if tree {
			// --tree names the directory after the host as it is sent.
			root, sub = "tree", "xn--bcher-kva.localhost_"+port
			args = append(args, "--tree")
		}
		args = append(args, "-d", root)
		mu.Lock()
		hosts = nil
		mu.Unlock()
		r := mgList(t, dir, list, args...)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1 (one invalid entry)\n%s", r.code, r)
		}
		res := bySource(t, r)
		for i, name := range []string{"x", "y", "z"} {
			src := "list.txt:" + string(rune('1'+i))
			got := res[src]
			if got.Status != "ok" {
				t.Errorf("%s: status %q error %q, want ok\n%s", src, got.Status, got.Error, r)
			}
			if want := strings.Split(list, "\n")[i]; got.URL != want {
				t.Errorf("%s: url %q, want it as written, %q", src, got.URL, want)
			}
			wantFile(t, filepath.Join(dir, root, sub, name), []byte("payload /"+name))
		}
		bad := res["list.txt:4"]
		if bad.Status != "invalid" || !strings.Contains(bad.Error, `host "-bücher.localhost" is not a valid international domain name`) {
			t.Errorf("list.txt:4: %+v, want invalid naming the host", bad)
		}
		mu.Lock()
		want := "xn--bcher-kva.localhost:" + port
		if len(hosts) != 3 {
			t.Errorf("server saw %d requests (%q), want 3", len(hosts), hosts)
		}
		for _, h := range hosts {
			if h != want {
				t.Errorf("Host header %q, want %q", h, want)
			}
		}
		mu.Unlock()
	}
	noLeftovers(t, dir)
}
