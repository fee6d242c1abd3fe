package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Real links: the workloads of the link group fetch from the same nginx
// through toxiproxy (a TCP proxy on 127.0.0.1 that scripts/bench starts),
// which delays and throttles the data. scripts/bench creates one proxy per
// nginx port, named linkProxyHTTP and linkProxyHTTPS; benchrun sets their
// toxics through toxiproxy's HTTP API before each link workload.
const (
	linkProxyHTTP     = "http"
	linkProxyHTTPS    = "https"
	linkProxyHTTPSFew = "https-few" // in front of the HTTPS port allowing linkFewStreams
)

// linkSpec is one workload of the link group.
type linkSpec struct {
	id      int
	rttMS   int  // round trip added by the proxy, split over both directions
	rateKBs int  // bandwidth toxic per connection, server to client (KB/s, 1 KB = 1,000 B); 0: none
	tls     bool // HTTPS (HTTP/2 where the tool has it) instead of HTTP/1.1
	budget  int  // transfers/connections at once, each tool's own flag; 0: each tool's defaults
	large   bool // one large file split linkSplit ways instead of many small files
	few     bool // HTTPS to the server allowing linkFewStreams streams per connection
	two     bool // HTTPS to both servers, 12's and 18's: the small files from each, interleaved in one list
}

const (
	linkBudget = 16   // the "same connection budget" workloads
	linkSplit  = 16   // ways the large file is split
	linkRate   = 5000 // KB/s per connection on the large file
	// linkFewStreams is the SETTINGS_MAX_CONCURRENT_STREAMS of workload
	// 18's server (nginx's http2_max_concurrent_streams; scripts/bench):
	// below the 100 most servers allow, as some do. It speaks TLS 1.3,
	// where its SETTINGS come a round trip after the client's handshake.
	linkFewStreams = 20
)

// linkSpecs are the link group, in the order the tables show them: what
// users meet first.
var linkSpecs = []linkSpec{
	{id: 11, rttMS: 50},
	{id: 12, rttMS: 50, tls: true},
	{id: 13, rttMS: 50, budget: linkBudget},
	{id: 14, rttMS: 50, tls: true, budget: linkBudget},
	{id: 15, rttMS: 50, rateKBs: linkRate, large: true},
	{id: 16, rttMS: 150},
	{id: 17, rttMS: 150, tls: true},
	{id: 18, rttMS: 50, tls: true, few: true},
	{id: 19, rttMS: 50, tls: true, two: true},
}

// loopbackIDs are the workloads on nginx directly.
var loopbackIDs = []int{1, 2, 3, 4, 5, 6}

// linkIDs are the ids of linkSpecs.
func linkIDs() []int {
	ids := make([]int, len(linkSpecs))
	for i, s := range linkSpecs {
		ids[i] = s.id
	}
	return ids
}

// allIDs are every workload id, loopback first (the order they run in).
func allIDs() []int { return append(append([]int{}, loopbackIDs...), linkIDs()...) }

func linkSpecFor(id int) (linkSpec, bool) {
	for _, s := range linkSpecs {
		if s.id == id {
			return s, true
		}
	}
	return linkSpec{}, false
}

func isLinkID(id int) bool {
	_, ok := linkSpecFor(id)
	return ok
}

// proxies are the proxies s goes through.
func (s linkSpec) proxies() []string {
	switch {
	case s.two:
		return []string{linkProxyHTTPS, linkProxyHTTPSFew}
	case s.few:
		return []string{linkProxyHTTPSFew}
	case s.tls:
		return []string{linkProxyHTTPS}
	}
	return []string{linkProxyHTTP}
}

// fewServer says whether s fetches from the server allowing
// linkFewStreams, which has a proxy of its own.
func (s linkSpec) fewServer() bool { return s.few || s.two }

// toxic is one toxic as toxiproxy's API takes it (POST /proxies/NAME/toxics).
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]int `json:"attributes"`
}

// toxics are the toxics for s, in the order they must be added. toxiproxy's
// latency toxic delays each direction by itself, so the round trip is split
// over downstream (server to client) and upstream (the odd millisecond
// downstream). Its bandwidth toxic applies per connection, per direction:
// downstream only, where the bodies go. The latency toxic comes first on
// the downstream chain: it holds each chunk until latency ms after the
// chunk arrived, so a bandwidth toxic ahead of it would have its own wait
// counted against the latency.
func (s linkSpec) toxics() []toxic {
	var ts []toxic
	if s.rttMS > 0 {
		down := s.rttMS - s.rttMS/2
		ts = append(ts,
			toxic{Name: "latency_down", Type: "latency", Stream: "downstream", Toxicity: 1,
				Attributes: map[string]int{"latency": down, "jitter": 0}},
			toxic{Name: "latency_up", Type: "latency", Stream: "upstream", Toxicity: 1,
				Attributes: map[string]int{"latency": s.rttMS / 2, "jitter": 0}})
	}
	if s.rateKBs > 0 {
		ts = append(ts, toxic{Name: "bandwidth_down", Type: "bandwidth", Stream: "downstream", Toxicity: 1,
			Attributes: map[string]int{"rate": s.rateKBs}})
	}
	return ts
}

// describe says the link in words for the table: "50 ms RTT" and, with a
// bandwidth toxic, "5,000 KB/s per connection".
func (s linkSpec) describe() string {
	d := fmt.Sprintf("%d ms RTT", s.rttMS)
	if s.rateKBs > 0 {
		d = fmt.Sprintf("%s KB/s per connection, %s", count(s.rateKBs), d)
	}
	return d
}

// toxiproxy is a client of toxiproxy's HTTP API.
type toxiproxy struct {
	api    string // e.g. http://127.0.0.1:8474
	client *http.Client
}

func newToxiproxy(api string) *toxiproxy {
	return &toxiproxy{api: strings.TrimRight(api, "/"), client: &http.Client{Timeout: 10 * time.Second}}
}

func (t *toxiproxy) do(method, path string, body any, want ...int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, t.api+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("toxiproxy %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	for _, w := range want {
		if resp.StatusCode == w {
			return nil
		}
	}
	return fmt.Errorf("toxiproxy %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
}

// reset removes every toxic from every proxy.
func (t *toxiproxy) reset() error {
	return t.do(http.MethodPost, "/reset", nil, http.StatusNoContent, http.StatusOK)
}

// set makes ts the only toxics anywhere: those of each of proxies, none
// on the others.
func (t *toxiproxy) set(proxies []string, ts []toxic) error {
	if err := t.reset(); err != nil {
		return err
	}
	for _, p := range proxies {
		for _, x := range ts {
			if err := t.do(http.MethodPost, "/proxies/"+url.PathEscape(p)+"/toxics", x, http.StatusOK); err != nil {
				return err
			}
		}
	}
	return nil
}

// linkProbePath is a 1-byte file in the document root that probeRTT asks
// for (writeCorpus writes it with a link workload's corpus).
const linkProbePath = "rtt-probe.txt"

// probeRTT measures one request's round trip through the proxy at base
// (http:// or https://): the time from sending a request on an open
// connection (TLS handshake done) to the first byte of the response; the
// smallest of n tries.
func probeRTT(base, cacert string, n int) (time.Duration, error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, err
	}
	var tlsCfg *tls.Config
	if u.Scheme == "https" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return 0, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return 0, fmt.Errorf("%s: no certificate", cacert)
		}
		tlsCfg = &tls.Config{RootCAs: pool, ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	best := time.Duration(0)
	for i := 0; i < n; i++ {
		d, err := probeOnce(u.Host, tlsCfg)
		if err != nil {
			return 0, err
		}
		if best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

func probeOnce(addr string, tlsCfg *tls.Config) (time.Duration, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := raw
	if tlsCfg != nil {
		tc := tls.Client(raw, tlsCfg)
		if err := tc.Handshake(); err != nil {
			return 0, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	req := "GET /" + linkProbePath + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n"
	start := time.Now()
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, err
	}
	br := bufio.NewReader(conn)
	if _, err := br.Peek(1); err != nil {
		return 0, fmt.Errorf("no response from %s: %w", addr, err)
	}
	d := time.Since(start)
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if !strings.Contains(line, " 200 ") {
		return 0, fmt.Errorf("%s answered %q", addr, strings.TrimSpace(line))
	}
	_, _ = io.Copy(io.Discard, br)
	return d, nil
}

// setLink gives w's proxies their toxics and measures the round trip
// through each, which must come out at least the round trip asked for
// (the least of them is the one the table lists).
func (b *bench) setLink(w *workload) error {
	s := *w.link
	if err := b.toxi.set(s.proxies(), s.toxics()); err != nil {
		return err
	}
	for _, p := range s.proxies() {
		base := b.proxyBase(p)
		rtt, err := probeRTT(base, b.cfg.cacert, 3)
		if err != nil {
			return fmt.Errorf("probing %s: %w", base, err)
		}
		want := time.Duration(s.rttMS) * time.Millisecond
		if rtt < want {
			return fmt.Errorf("a request through %s took %s, less than the %s round trip asked for: the toxics are not in effect", base, rtt, want)
		}
		if w.probe == 0 || rtt < w.probe {
			w.probe = rtt
		}
		b.logf("  link: %s through %s; one request's round trip %.1f ms", s.describe(), base, float64(rtt)/float64(time.Millisecond))
	}
	return nil
}

// proxyBase is the base URL of the proxy named p.
func (b *bench) proxyBase(p string) string {
	switch p {
	case linkProxyHTTPSFew:
		return b.cfg.linkHTTPSFew
	case linkProxyHTTPS:
		return b.cfg.linkHTTPS
	}
	return b.cfg.linkHTTP
}

var errNoToxiproxy = errors.New("link workloads need -toxiproxy, -link-http, -link-https and -link-https-few (run me through scripts/bench)")

// linkWorkload fills in w, a workload of the link group.
func (b *builder) linkWorkload(w *workload, s linkSpec) error {
	w.link = &s
	base, proto := b.cfg.linkHTTP, "HTTP/1.1"
	if s.tls {
		base, proto = b.cfg.linkHTTPS, "HTTPS + HTTP/2"
	}
	if s.few {
		base, proto = b.cfg.linkHTTPSFew, fmt.Sprintf("HTTPS (TLS 1.3) + HTTP/2 (%d streams per connection)", linkFewStreams)
	}
	if s.two {
		return b.twoServers(w, s)
	}
	if s.large {
		w.title = fmt.Sprintf("1 × %s, %s, split %d ways", size(b.sz.bigSize), s.describe(), linkSplit)
		return b.oneSplit(w, base)
	}
	srcs := make([]string, b.sz.linkSmallN)
	for i := range srcs {
		srcs[i] = smallPath(i)
	}
	how := "each tool's defaults"
	if s.budget > 0 {
		how = fmt.Sprintf("%d at once", s.budget)
	}
	w.title = fmt.Sprintf("%s × %s, %s, %s, %s", count(b.sz.linkSmallN), size(int64(b.sz.smallSize)), proto, s.describe(), how)
	return b.manyFilesWith(w, base, srcs, s.budget, s.tls, true)
}

// twoServers fills in workload 19: linkSmallN small files from workload
// 12's server and as many others from 18's, alternating in one list, as a
// list spanning two CDNs or mirrors does; the file names differ, so every
// tool saves them flat in one directory.
func (b *builder) twoServers(w *workload, s linkSpec) error {
	n := b.sz.linkSmallN
	files := make([]remote, 0, 2*n)
	for i := range n {
		files = append(files, remote{b.cfg.linkHTTPS, smallPath(i)}, remote{b.cfg.linkHTTPSFew, smallPath(n + i)})
	}
	w.title = fmt.Sprintf("%s × %s from each of two servers in one list, 12's (HTTPS + HTTP/2) and 18's (TLS 1.3, %d streams per connection), %s, each tool's defaults",
		count(n), size(int64(b.sz.smallSize)), linkFewStreams, s.describe())
	return b.manyRemote(w, files, 0, true, true)
}
