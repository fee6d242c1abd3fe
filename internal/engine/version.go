package engine

// What the loaded libcurl is (--version).

/*
#include <curl/curl.h>

// mg_feature_names returns libcurl's own list of feature names, which only
// exists from 7.87 on (CURLVERSION_ELEVENTH); older libraries give none and
// the caller falls back to the bitmask.
static const char *const *mg_feature_names(const curl_version_info_data *d) {
#if LIBCURL_VERSION_NUM >= 0x075700
	if (d->age >= CURLVERSION_ELEVENTH)
		return d->feature_names;
#endif
	return NULL;
}
*/
import "C"

import (
	"slices"
	"unsafe"
)

// LibInfo describes the libcurl this binary runs with: what --version shows,
// so a bug report says which TLS library and features were at work.
type LibInfo struct {
	Version   string   // "8.x.y"
	Num       int      // Version as 0xXXYYZZ: 0x080c00 is 8.12.0
	SSL       string   // "OpenSSL/3.0.x", "" when built without TLS
	Libz      string   // zlib version, "" when none
	Protocols []string // "http", "https", ...
	Features  []string // "HTTP2", "SSL", "libz", ...
}

// Lib asks the loaded libcurl (not the headers it was compiled against)
// what it is.
func Lib() LibInfo {
	d := C.curl_version_info(C.CURLVERSION_NOW)
	info := LibInfo{
		Version: C.GoString(d.version),
		Num:     int(d.version_num),
		SSL:     C.GoString(d.ssl_version),
		Libz:    C.GoString(d.libz_version),
	}
	info.Protocols = cStrings(d.protocols)
	if names := C.mg_feature_names(d); names != nil {
		info.Features = cStrings((**C.char)(unsafe.Pointer(names)))
	} else {
		info.Features = featureBits(int(d.features))
	}
	return info
}

// cStrings reads a NULL-terminated array of C strings.
func cStrings(p **C.char) []string {
	var out []string
	for p != nil && *p != nil {
		out = append(out, C.GoString(*p))
		p = (**C.char)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(p)))
	}
	return out
}

// featureBits names the best-known bits of the features mask, for
// libcurl older than 7.87, which has no list of names.
func featureBits(mask int) []string {
	bits := []struct {
		bit  int
		name string
	}{
		{C.CURL_VERSION_IPV6, "IPv6"},
		{C.CURL_VERSION_SSL, "SSL"},
		{C.CURL_VERSION_LIBZ, "libz"},
		{C.CURL_VERSION_HTTP2, "HTTP2"},
		{C.CURL_VERSION_HTTP3, "HTTP3"},
		{C.CURL_VERSION_BROTLI, "brotli"},
		{C.CURL_VERSION_ZSTD, "zstd"},
		{C.CURL_VERSION_ASYNCHDNS, "AsynchDNS"},
		{C.CURL_VERSION_IDN, "IDN"},
		{C.CURL_VERSION_LARGEFILE, "Largefile"},
		{C.CURL_VERSION_UNIX_SOCKETS, "UnixSockets"},
		{C.CURL_VERSION_HTTPS_PROXY, "HTTPS-proxy"},
	}
	var out []string
	for _, b := range bits {
		if mask&b.bit != 0 {
			out = append(out, b.name)
		}
	}
	return out
}

// hasFeature says whether the loaded libcurl has the feature of that
// name ("HTTP2", "SSL", ...).
func hasFeature(name string) bool { return slices.Contains(Lib().Features, name) }
