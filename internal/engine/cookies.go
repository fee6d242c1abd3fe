package engine

// The run's cookie store (-b FILE, --cookie-jar): one store, in the share
// handle (CURL_LOCK_DATA_COOKIE), that every transfer sends from and adds
// to, so a cookie one response sets goes with the later requests of every
// entry. No lock callbacks: one thread uses all the handles.

// #include "easy.h"
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	curl "github.com/andelf/go-curl"
)

// cookies says whether the run keeps a cookie store.
func (e *engine) cookies() bool { return e.cfg.CookieFile != "" || e.cfg.CookieJar != "" }

// startCookies fills the store from -b FILE once, through the template,
// attached to the share for that and for writing the jar.
// From libcurl 8.x on, a handle reads its CURLOPT_COOKIEFILE list at the
// start of every transfer (Curl_pretransfer), so the file is dropped from
// the list once read: reading it again would undo what servers changed.
// What stays is "", which reads nothing but turns the cookie engine on in
// every duplicate (curl_easy_duphandle copies the list, not the engine).
func (e *engine) startCookies(h *curl.CURL) error {
	if !e.cookies() {
		return nil
	}
	if e.tls.p == nil {
		return errors.New("this libcurl cannot share cookies between transfers (-b FILE, --cookie-jar)")
	}
	easy := h.GetHandle()
	if err := e.tls.attach(easy); err != nil {
		return fmt.Errorf("libcurl: sharing cookies: %w", err)
	}
	if f := e.cfg.CookieFile; f != "" {
		for _, v := range []any{f, nil} {
			if err := setopt(easy, C.CURLOPT_COOKIEFILE, v); err != nil {
				return fmt.Errorf("-b %s: %w", f, err)
			}
			if v == nil {
				break
			}
			if err := setopt(easy, C.CURLOPT_COOKIELIST, "RELOAD"); err != nil {
				return fmt.Errorf("-b %s: %w", f, err)
			}
		}
	}
	if err := setopt(easy, C.CURLOPT_COOKIEFILE, ""); err != nil {
		return err
	}
	// Dropping the file from the list also dropped the handle's pointer to
	// the store (setopt.c); attached again, the template reads the store
	// for --cookie-jar.
	return e.tls.attach(easy)
}

// writeCookieJar writes every cookie of the store to --cookie-jar, in the
// Netscape format libcurl reads back (-b FILE), once, at the end of the
// run: through a temporary file in the same directory renamed over FILE,
// so that FILE is never half written.
func (e *engine) writeCookieJar() error {
	jar := e.cfg.CookieJar
	if jar == "" || e.tmpl == nil {
		return nil
	}
	var l *C.struct_curl_slist
	if rc := C.mg_cookie_list(e.tmpl.GetHandle(), &l); rc != C.CURLE_OK {
		return fmt.Errorf("--cookie-jar %s: libcurl: %w", jar, curlError(int(rc)))
	}
	var b strings.Builder
	b.WriteString("# Netscape HTTP Cookie File\n# Written by multiget.\n\n")
	for c := l; c != nil; c = c.next {
		b.WriteString(C.GoString(c.data) + "\n")
	}
	C.mg_slist_free(l)
	f, err := os.CreateTemp(filepath.Dir(jar), "."+filepath.Base(jar)+".*")
	if err != nil {
		return fmt.Errorf("--cookie-jar %s: %w", jar, err)
	}
	_, err = f.WriteString(b.String())
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Rename(f.Name(), jar)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("--cookie-jar %s: %w", jar, err)
	}
	return nil
}
