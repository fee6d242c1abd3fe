package engine

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
	for _, s := range set {
		if err := h.Setopt(s.opt, s.val); err != nil {
			return fmt.Errorf("libcurl option %d: %w", s.opt, err)
		}
	}
	return nil
}
