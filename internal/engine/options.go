package engine

// Network options of the template handle: credentials, proxies, encodings
// and the per-transfer speed cap.

// #include <curl/curl.h>
import "C"

import (
	"fmt"

	curl "github.com/andelf/go-curl"
)

// Options the Go binding does not name.
const (
	optNoProxy        = C.CURLOPT_NOPROXY
	optAcceptEncoding = C.CURLOPT_ACCEPT_ENCODING
	optResolve        = C.CURLOPT_RESOLVE
	optConnectTo      = C.CURLOPT_CONNECT_TO
	optUserPwd        = C.CURLOPT_USERPWD
)

// netrcOptional is CURL_NETRC_OPTIONAL: credentials from the netrc file are
// used when it names the host, and the URL's own credentials win.
const netrcOptional = 1

// configureNetwork sets the template options for credentials, proxies,
// encodings and the per-transfer speed cap (kept apart from
// configureTemplate, which holds the core transfer options).
func (e *engine) configureNetwork(h *curl.CURL) error {
	c := e.cfg
	type opt struct {
		opt int
		val interface{}
	}
	var set []opt
	if c.Netrc || c.NetrcFile != "" {
		set = append(set, opt{curl.OPT_NETRC, netrcOptional})
	}
	if c.NetrcFile != "" {
		set = append(set, opt{curl.OPT_NETRC_FILE, c.NetrcFile})
	}
	// With no CURLOPT_PROXY, libcurl itself reads http_proxy, https_proxy,
	// ALL_PROXY and NO_PROXY; CURLOPT_NOPROXY overrides NO_PROXY.
	if c.NoProxy != "" {
		set = append(set, opt{optNoProxy, c.NoProxy})
	}
	if c.Compressed {
		// "" asks for every encoding this libcurl can decode; the body
		// path then sees decoded bytes.
		set = append(set, opt{optAcceptEncoding, ""})
	}
	if c.LimitRate > 0 {
		// An OFF_T option: go-curl accepts int or uint64, not int64.
		set = append(set, opt{curl.OPT_MAX_RECV_SPEED_LARGE, int(c.LimitRate)})
	}
	switch c.IPResolve {
	case 4:
		set = append(set, opt{curl.OPT_IPRESOLVE, int(C.CURL_IPRESOLVE_V4)})
	case 6:
		set = append(set, opt{curl.OPT_IPRESOLVE, int(C.CURL_IPRESOLVE_V6)})
	}
	if c.Cookie != "" {
		// Sent as written, as curl sends -b name=value (to a redirect's
		// host too); the cookie store's own cookies are added to it.
		set = append(set, opt{curl.OPT_COOKIE, c.Cookie})
	}
	for _, s := range set {
		if err := h.Setopt(s.opt, s.val); err != nil {
			return fmt.Errorf("libcurl option %d: %w", s.opt, err)
		}
	}
	// curl_easy_duphandle copies these lists' pointers (and makes a
	// duplicate load the --resolve entries), so they live until close.
	e.resolve, e.connectTo = newSlist(c.Resolve), newSlist(c.ConnectTo)
	if len(c.Resolve) > 0 {
		if err := e.resolve.set(h.GetHandle(), optResolve); err != nil {
			return fmt.Errorf("--resolve: %w", err)
		}
	}
	if len(c.ConnectTo) > 0 {
		if err := e.connectTo.set(h.GetHandle(), optConnectTo); err != nil {
			return fmt.Errorf("--connect-to: %w", err)
		}
	}
	return e.startCookies(h)
}

// credentials sets -u's USER[:PASS] on a transfer to url of j, but only
// when url is on the entry's own scheme://host:port: libcurl itself does
// not send them to the host a redirect leads to, and the ranges and
// retries sent straight to where it led must not either (as headersFor
// keeps -H credentials).
func (e *engine) credentials(easy *curl.CURL, j *job, url string) error {
	if e.cfg.User == "" {
		return nil
	}
	var v any
	if hostKey(url) == j.host {
		v = e.cfg.User
	}
	if err := setopt(easy.GetHandle(), optUserPwd, v); err != nil {
		return fmt.Errorf("--user: %w", err)
	}
	return nil
}

// capDuplicate sets --limit-rate again on a fresh duplicate of the
// template. From libcurl 8.18 on, curl_easy_duphandle copies the option's
// value but not the limiter it feeds: the limiter (its rate and tokens) is
// set up only by curl_easy_setopt itself (curl's lib/setopt.c, lib/easy.c),
// and a duplicate starts with none, so it ran at full speed (32 MiB in
// 65 ms at a 4 MiB/s cap). Setting the option on the handle that runs the
// transfer is what every libcurl honours; handles kept for reuse keep it
// (or the share --total-rate gave them last, which shareRates replaces).
func (e *engine) capDuplicate(h *curl.CURL) error {
	if e.cfg.LimitRate <= 0 {
		return nil
	}
	if err := h.Setopt(curl.OPT_MAX_RECV_SPEED_LARGE, int(e.cfg.LimitRate)); err != nil {
		return fmt.Errorf("libcurl option %d: %w", curl.OPT_MAX_RECV_SPEED_LARGE, err)
	}
	return nil
}
