package engine

// What the server said of a saved file's version: kept in the state store
// for the next -N run, and (-R) given to the file as its time.

import (
	"net/http"
	"os"
	"strings"
	"time"
	"unsafe"

	"github.com/multiget/multiget/internal/store"
)

// noteRemote keeps the version headers of the response j's file comes
// from, when -N or -R will want them.
func (e *engine) noteRemote(j *job, easy unsafe.Pointer) {
	if e.cfg.State == nil && !e.cfg.RemoteTime {
		return
	}
	j.etag = strings.TrimSpace(header(easy, "ETag"))
	j.lastMod = strings.TrimSpace(header(easy, "Last-Modified"))
}

// remoteVersion is what j knows of its file's version: the headers noted,
// else the validator a -c resume recorded in NAME.part.meta (an ETag is
// quoted, a Last-Modified date is not).
func (j *job) remoteVersion() (etag, lastMod string) {
	if j.etag != "" || j.lastMod != "" {
		return j.etag, j.lastMod
	}
	if strings.HasPrefix(j.validator, `"`) {
		return j.validator, ""
	}
	return "", j.validator
}

// saved runs once target holds j's file: -R sets its time, and -N records
// its version. Neither can cost the entry its result: a store that cannot
// be written is reported once (Stats.StoreError), and the next run asks
// with the file's own time instead.
func (e *engine) saved(j *job, target string) {
	etag, lastMod := j.remoteVersion()
	if e.cfg.RemoteTime && lastMod != "" {
		if t, err := http.ParseTime(lastMod); err == nil {
			_ = os.Chtimes(target, time.Now(), t)
		}
	}
	e.remember(j, target, etag, lastMod)
}

// remember records target's version in the state store (-N).
func (e *engine) remember(j *job, target, etag, lastMod string) {
	if e.cfg.State == nil || (etag == "" && lastMod == "") {
		return
	}
	fi, err := os.Lstat(target)
	if err != nil {
		return
	}
	// Keyed by the entry's own name, which the next run knows before any
	// request; a server-given name is kept beside it.
	rec := store.Record{Path: e.relPath(j.entry.Path), URL: j.entry.URL, ETag: etag, LastModified: lastMod,
		Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if target != j.entry.Path {
		rec.SavedAs = e.relPath(target)
	}
	if err := e.cfg.State.Put(rec); err != nil && e.stats.StoreError == "" {
		e.stats.StoreError = err.Error()
	}
}

// record is the state store's record of path, if any.
func (e *engine) record(path string) (store.Record, bool) {
	if e.cfg.State == nil {
		return store.Record{}, false
	}
	return e.cfg.State.Get(e.relPath(path))
}
