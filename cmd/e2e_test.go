package cmd_test

// End-to-end tests: the multiget binary, built once by TestMain, driven by
// txtar scripts in testdata/script against a real HTTP server on loopback
// started for each script.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/multiget/multiget/internal/testserver"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "multiget-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "multiget"), "github.com/multiget/multiget")
	build.Env = append(os.Environ(), "CGO_CFLAGS=-Wno-deprecated-declarations")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building multiget:", err)
		os.Exit(2)
	}
	binDir = dir
	// The tests' runs of the binary must not read the config of whoever
	// runs the tests.
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "no-config"))
	os.Unsetenv("MULTIGET_CONFIG")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// content is the deterministic body of /gen/SIZE/NAME, also written by the
// script command "gen" so scripts can cmp downloads against it.
func content(name string, size int) []byte {
	b := make([]byte, size)
	x := uint32(2166136261)
	for _, c := range []byte(name) {
		x = (x ^ uint32(c)) * 16777619
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// testServer is the loopback server one script talks to.
type testServer struct {
	srv                   *httptest.Server
	tls                   *httptest.Server // the same handlers over HTTPS, HTTP/2 enabled
	proxy                 *httptest.Server // a forward proxy answering "via proxy URL"
	inflight, maxInflight atomic.Int64
	// wave holds the first /gen/ requests after the script command of
	// that name until that many are in flight (see cmdWave).
	wave     testserver.Wave
	mu       sync.Mutex
	hits     map[string]int
	firstHit map[string]time.Time // when each path was first asked for
	release  chan struct{}
	v6       *http.Server // the same handlers on [::1], the plain server's port; nil when none
}

func (s *testServer) count(path string) {
	s.mu.Lock()
	s.hits[path]++
	if _, ok := s.firstHit[path]; !ok {
		s.firstHit[path] = time.Now()
	}
	s.mu.Unlock()
}

// firstHitOf is when the server first got a request whose path starts
// with prefix (ok false: none yet).
func (s *testServer) firstHitOf(prefix string) (at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, t := range s.firstHit {
		if strings.HasPrefix(p, prefix) && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	return at, ok
}

func (s *testServer) close() {
	close(s.release)
	if s.v6 != nil {
		s.v6.Close()
	}
	s.srv.Close()
	s.tls.Close()
	s.proxy.Close()
}

func (s *testServer) hitCount(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.hits {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

func newTestServer(root string) *testServer {
	s := &testServer{hits: map[string]int{}, firstHit: map[string]time.Time{}, release: make(chan struct{})}
	mux := http.NewServeMux()
	// /srv/PATH serves the script's srv directory.
	mux.Handle("/srv/", http.StripPrefix("/srv/", http.FileServer(http.Dir(filepath.Join(root, "srv")))))
	// /gen/SIZE/NAME serves content(NAME, SIZE) and tracks concurrency.
	mux.HandleFunc("/gen/", func(w http.ResponseWriter, r *http.Request) {
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		for m := s.maxInflight.Load(); n > m && !s.maxInflight.CompareAndSwap(m, n); m = s.maxInflight.Load() {
		}
		s.wave.Hold()
		size, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/gen/"), "/")
		sz, err := strconv.Atoi(size)
		if err != nil {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(sz))
		// Hold each response briefly so concurrent requests overlap and
		// the -j cap is really exercised.
		time.Sleep(2 * time.Millisecond)
		_, _ = w.Write(content(name, sz))
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
		fmt.Fprintf(w, "error page for %d\n", code)
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/"+strings.TrimPrefix(r.URL.Path, "/redirect/"), http.StatusFound)
	})
	// /slow/NAME sends 10 of 1,000,000 bytes (a size written as NAME.part,
	// not unnamed), then waits for the test's end.
	mux.HandleFunc("/slow/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
	})
	// /echo-header/NAME returns the value of request header NAME.
	mux.HandleFunc("/echo-header/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.Header.Get(strings.TrimPrefix(r.URL.Path, "/echo-header/")))
	})
	// /proto/NAME returns the HTTP version the request came in with.
	mux.HandleFunc("/proto/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.Proto)
	})
	// /gzip/SIZE/NAME serves content(NAME, SIZE) gzip-encoded, and only to
	// a client that asked for gzip (406 otherwise), so a download that
	// matches content() proves the request asked and the body was decoded.
	mux.HandleFunc("/gzip/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "ask for gzip", http.StatusNotAcceptable)
			return
		}
		size, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/gzip/"), "/")
		sz, err := strconv.Atoi(size)
		if err != nil {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(content(name, sz))
		_ = zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		_, _ = w.Write(b.Bytes())
	})
	// /auth/NAME answers only requests with Basic credentials
	// mg:s3cret (401 otherwise), as a netrc-protected download would.
	mux.HandleFunc("/auth/", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "mg" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="mg"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "secret %s\n", strings.TrimPrefix(r.URL.Path, "/auth/"))
	})
	// /redirect-to?u=URL redirects to any URL as given (file://, ftp://,
	// another server), unchecked.
	mux.HandleFunc("/redirect-to", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", r.URL.Query().Get("u"))
		w.WriteHeader(http.StatusFound)
	})
	// /flaky/K/NAME answers 503 to the first K requests for its path,
	// then 200 with the body "NAME\n".
	mux.HandleFunc("/flaky/", func(w http.ResponseWriter, r *http.Request) {
		k, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/flaky/"), "/")
		n, _ := strconv.Atoi(k)
		s.mu.Lock()
		seen := s.hits[r.URL.Path]
		s.mu.Unlock()
		if seen <= n {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, name)
	})
	// /setcookie/NAME/VALUE sets cookie NAME=VALUE for the whole server.
	mux.HandleFunc("/setcookie/", func(w http.ResponseWriter, r *http.Request) {
		name, value, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/setcookie/"), "/")
		http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/"})
		fmt.Fprintln(w, "set", name)
	})
	// /remote/NAME returns the client's IP address.
	mux.HandleFunc("/remote/", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, host)
	})
	// /loop redirects to itself forever.
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	// Every request is counted by its path (see waithits and hits). /any/
	// is answered before the mux, which would clean or redirect hostile
	// paths: it returns the request target exactly as sent, plus "\n".
	top := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count(r.URL.Path)
		if strings.HasPrefix(r.RequestURI, "/any/") {
			fmt.Fprintln(w, r.RequestURI)
			return
		}
		mux.ServeHTTP(w, r)
	})
	s.srv = httptest.NewServer(top)
	// Where the machine has IPv6 loopback, the same port on [::1] too,
	// for -4 and -6 (the scripts' [ipv6]).
	if l, err := net.Listen("tcp6", "[::1]:"+strconv.Itoa(s.srv.Listener.Addr().(*net.TCPAddr).Port)); err == nil {
		s.v6 = &http.Server{Handler: top}
		go func() { _ = s.v6.Serve(l) }()
	}
	s.tls = httptest.NewUnstartedServer(top)
	s.tls.EnableHTTP2 = true
	// Refused handshakes are what the TLS script expects; keep them out
	// of the test log.
	s.tls.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.tls.StartTLS()
	// The proxy answers any absolute-URI request itself, without
	// forwarding it, so the target host need not exist.
	s.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, err := url.Parse(r.RequestURI); err != nil || !u.IsAbs() {
			http.Error(w, "not a proxy request: "+r.RequestURI, http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "via proxy %s\n", r.RequestURI)
	}))
	return s
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			if cond == "ipv6" {
				return hasIPv6Loopback(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			s := newTestServer(env.WorkDir)
			env.Defer(s.close)
			env.Values["server"] = s
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("SRV", s.srv.URL)
			// SRVPORT is the plain server's port, for --tree's HOST_PORT.
			env.Setenv("SRVPORT", strconv.Itoa(s.srv.Listener.Addr().(*net.TCPAddr).Port))
			env.Setenv("TLSSRV", s.tls.URL)
			env.Setenv("PROXY", s.proxy.URL)
			// CACERT is the PEM of the TLS server's self-signed certificate.
			ca := filepath.Join(env.WorkDir, "tls-ca.pem")
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
			if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
				return err
			}
			env.Setenv("CACERT", ca)
			// A loopback port with no listener: connections are refused.
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("DEAD", "http://"+l.Addr().String())
			l.Close()
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"gen":         cmdGen,
			"genlist":     cmdGenList,
			"maxinflight": cmdMaxInflight,
			"wave":        cmdWave,
			"waithits":    cmdWaitHits,
			"hits":        cmdHits,
			"hitgap":      cmdHitGap,
			"nopart":      cmdNoPart,
			"envsubst":    cmdEnvsubst,
			"jsonrange":   cmdJSONRange,
			"countall":    cmdCountAll,
			"samefiles":   cmdSameFiles,
		},
	})
}

// hasIPv6Loopback: the machine can listen on [::1] (the condition
// [ipv6] of the scripts; the server then also listens there).
var hasIPv6Loopback = sync.OnceValue(func() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err == nil {
		l.Close()
	}
	return err == nil
})

// gen FILE SIZE NAME: write content(NAME, SIZE) to FILE.
func cmdGen(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: gen FILE SIZE NAME")
	}
	size, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o777))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), content(args[2], size), 0o644))
}

// genlist FILE N SIZE [DIR]: write a list of N URLs /gen/SIZE/fI and, when
// DIR is given, the expected files DIR/fI.
func cmdGenList(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: genlist FILE N SIZE [DIR]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	size, err := strconv.Atoi(args[2])
	ts.Check(err)
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%d", i)
		fmt.Fprintf(&b, "%s/gen/%d/%s\n", ts.Getenv("SRV"), size, name)
		if len(args) > 3 {
			p := filepath.Join(ts.MkAbs(args[3]), name)
			ts.Check(os.MkdirAll(filepath.Dir(p), 0o777))
			ts.Check(os.WriteFile(p, content(name, size), 0o644))
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o644))
}

// maxinflight N: the server never had more than N /gen/ requests at once
// (and, to prove the check can fail, had at least one). After "wave N" it
// must also have had N at once: a client running fewer fails.
func cmdMaxInflight(ts *testscript.TestScript, neg bool, args []string) {
	s := ts.Value("server").(*testServer)
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	m := int(s.maxInflight.Load())
	ok := m <= n && m > 0
	if w := s.wave.Size(); w > 0 && (s.wave.Late() || m < w) {
		ok = false
	}
	if ok == neg {
		ts.Fatalf("server saw at most %d requests at once (a wave of %d held for 10 s: %v); limit %d",
			m, s.wave.Size(), s.wave.Late(), n)
	}
}

// wave N: from now on, the first N /gen/ requests are held until N are in
// flight at once, so maxinflight can check a lower bound without timing:
// a client that ran fewer leaves them waiting out 10 s, which is noted.
func cmdWave(ts *testscript.TestScript, neg bool, args []string) {
	s := ts.Value("server").(*testServer)
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	s.wave.Set(n)
}

// waithits PREFIX N: wait until the server has received N requests whose
// path starts with PREFIX (used to interrupt a transfer mid-body).
func cmdWaitHits(ts *testscript.TestScript, neg bool, args []string) {
	s := ts.Value("server").(*testServer)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for s.hitCount(args[0]) < n {
		if time.Now().After(deadline) {
			ts.Fatalf("server got %d requests for %s, waited for %d", s.hitCount(args[0]), args[0], n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hits PREFIX N: the server has received exactly N requests whose path
// starts with PREFIX (! hits: any other number).
func cmdHits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: hits PREFIX N")
	}
	s := ts.Value("server").(*testServer)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	if got := s.hitCount(args[0]); (got == n) == neg {
		ts.Fatalf("server got %d requests for %s, want %s%d", got, args[0], map[bool]string{true: "not ", false: ""}[neg], n)
	}
}

// hitgap FROM TO MS: the server's first request for a path starting with
// TO came at least MS milliseconds after its first for one starting with
// FROM. A lower bound read on the server: a client that asks for TO only
// once a download of FROM is complete (-j 1) shows that the download took
// at least MS, whatever the client reports and however slow the machine.
func cmdHitGap(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: hitgap FROM TO MS")
	}
	ms, err := strconv.Atoi(args[2])
	ts.Check(err)
	s := ts.Value("server").(*testServer)
	from, ok1 := s.firstHitOf(args[0])
	to, ok2 := s.firstHitOf(args[1])
	if !ok1 || !ok2 {
		ts.Fatalf("the server got no request for %s or none for %s", args[0], args[1])
	}
	gap := to.Sub(from)
	ts.Logf("%s came %v after %s", args[1], gap.Round(time.Millisecond), args[0])
	if gap < time.Duration(ms)*time.Millisecond {
		ts.Fatalf("%s came %v after %s, want at least %dms", args[1], gap.Round(time.Millisecond), args[0], ms)
	}
}

// nopart DIR: no *.part file anywhere under DIR.
func cmdNoPart(ts *testscript.TestScript, neg bool, args []string) {
	_ = filepath.Walk(ts.MkAbs(args[0]), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".part") {
			ts.Fatalf("leftover partial file %s", p)
		}
		return nil
	})
}

// envsubst FILE...: replace $VAR and ${VAR} in each file with the script's
// environment (lists in archives need the server's address).
func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		b := ts.ReadFile(f)
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(b, ts.Getenv)), 0o644))
	}
}

// jsonrange KEY MIN MAX: every JSON line of the last command's stdout has
// a number KEY with MIN <= KEY <= MAX (for timings: rate limits).
func cmdJSONRange(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonrange KEY MIN MAX")
	}
	lo, err := strconv.ParseFloat(args[1], 64)
	ts.Check(err)
	hi, err := strconv.ParseFloat(args[2], 64)
	ts.Check(err)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(ts.ReadFile("stdout")), "\n") {
		var m map[string]any
		ts.Check(json.Unmarshal([]byte(l), &m))
		v, ok := m[args[0]].(float64)
		if !ok || v < lo || v > hi {
			ts.Fatalf("%s = %v in %s, want %v..%v", args[0], m[args[0]], l, lo, hi)
		}
		n++
	}
	if n == 0 {
		ts.Fatalf("no JSON lines on stdout")
	}
}

// countall REGEXP N FILE...: the lines matching REGEXP in all FILEs
// together number exactly N (shards together report each entry once).
func cmdCountAll(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: countall REGEXP N FILE...")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := 0
	for _, f := range args[2:] {
		for _, l := range strings.Split(ts.ReadFile(f), "\n") {
			if re.MatchString(l) {
				got++
			}
		}
	}
	if got != want {
		ts.Fatalf("%d lines match %s in %v, want %d", got, args[0], args[2:], want)
	}
}

// samefiles DIR1 DIR2: both trees hold the same relative file paths with
// the same contents.
func cmdSameFiles(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: samefiles DIR1 DIR2")
	}
	read := func(dir string) map[string]string {
		m := map[string]string{}
		root := ts.MkAbs(dir)
		ts.Check(filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			m[rel] = string(b)
			return err
		}))
		return m
	}
	a, b := read(args[0]), read(args[1])
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			ts.Fatalf("%s: in %s, missing or different in %s", k, args[0], args[1])
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ts.Fatalf("%s: in %s, not in %s", k, args[1], args[0])
		}
	}
}
