package engine

// Reruns: a target that is already there. -N asks the server whether its
// version changed (a conditional request); -c asks only whether the saved
// file is whole.
//
// -N: with a record of the file in the state store (internal/store) that
// still describes it (same size and time), the request carries
// If-None-Match with the recorded ETag, else If-Modified-Since with the
// recorded Last-Modified; with no such record, If-Modified-Since with the
// file's own time. A 304 ends the entry "unchanged" with the file
// untouched; a 200 is a download as any other, renamed over NAME once
// whole. A server that ignores the condition costs a download, never a
// wrong file. A resumable NAME.part is continued instead (the file is
// being fetched, not checked).
//
// -c: with no NAME.part to resume, -c asks the server only for what lies past
// the end of the saved file (Range: bytes=SIZE-). A 416 whose Content-Range
// names SIZE as the resource's size says the file is whole: the entry is
// skipped and no body moves. Any other answer means the server's file is
// not the one saved, and it is fetched whole into NAME.part and renamed
// over NAME as any download is: a 206 (the server's file is longer) is
// never appended, because without a validator recorded for the saved file
// nothing proves the saved bytes are a prefix of the longer one; a 200 (the
// server ignores ranges) is that whole file already. With checksums on the
// entry no request is made: the file is hashed, and only a mismatch fetches
// it again.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// checkExisting looks at the target of j, fresh from the input, for -N or
// -c. It returns true when it took the entry over.
func (e *engine) checkExisting(j *job) bool {
	if e.cfg.Update {
		e.prepareConditional(j)
		return false
	}
	return e.checkWhole(j)
}

// prepareConditional sets j.cond, the condition of j's first request, when
// its target exists.
func (e *engine) prepareConditional(j *job) {
	if j.offset > 0 || j.segs != nil || !isHTTP(j.entry.URL) {
		return
	}
	rec, known := e.record(j.entry.Path)
	path := j.entry.Path
	if known && rec.SavedAs != "" {
		// Saved under the server's name (--content-disposition).
		path = filepath.Join(e.cfg.Dir, filepath.FromSlash(rec.SavedAs))
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	j.savedAs = path
	if known && rec.Describes(fi) {
		switch {
		case rec.ETag != "":
			j.cond = "If-None-Match: " + rec.ETag
			return
		case rec.LastModified != "":
			j.cond = "If-Modified-Since: " + rec.LastModified
			return
		}
	}
	j.cond = "If-Modified-Since: " + fi.ModTime().UTC().Format(http.TimeFormat)
}

// relPath is path relative to the --dir, as the state store keys it.
func (e *engine) relPath(path string) string {
	rel, err := filepath.Rel(e.cfg.Dir, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// unchanged ends j, whose server said its saved file is current (304).
func (e *engine) unchanged(j *job) {
	r := e.baseResult(j)
	r.Path = j.savedAs
	r.Status = StatusUnchanged
	r.Error = ""
	e.result(r)
	e.setState(j, stDone)
}

// checkWhole decides whether j, fresh from the input, is a -c rerun of a
// finished file. It returns true when it took the entry over (its
// checksums are being read); otherwise j.whole says whether the first
// attempt asks only for what lies past the file's end.
func (e *engine) checkWhole(j *job) bool {
	if !e.cfg.Continue || e.cfg.Compressed || j.offset > 0 || j.segs != nil || !isHTTP(j.entry.URL) {
		return false
	}
	fi, err := os.Lstat(j.entry.Path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		// An empty file costs nothing to fetch again.
		return false
	}
	j.whole = fi.Size()
	if len(j.entry.Checksums) == 0 {
		return false
	}
	e.setState(j, stVerifying)
	e.verifying++
	go func() {
		res := verifyResult{job: j, target: j.entry.Path, existing: true}
		hashFile(j, j.entry.Path, &res)
		e.verified <- res
	}()
	return true
}

// finishWholeVerify ends an entry whose saved file matched its checksums,
// or sends it to be fetched whole when it did not.
func (e *engine) finishWholeVerify(v verifyResult) {
	j := v.job
	if v.err == nil {
		j.last.Verified = v.sums
		e.skipWhole(j, "checksums match")
		return
	}
	j.whole = 0
	if !e.sch.startable(j.host, e.slots() >= e.cfg.Parallel) {
		e.setState(j, stWaitHost)
		e.sch.wait(j)
		return
	}
	e.attempt(j)
}

// skipWhole reports j's saved file as whole.
func (e *engine) skipWhole(j *job, how string) {
	r := e.baseResult(j)
	r.Status = StatusSkipped
	r.Error = fmt.Sprintf("already complete (-c: %s)", how)
	e.result(r)
	e.setState(j, stDone)
}

// rerunVerdict classifies the answer to a conditional request (-N: a 304)
// or to a probe of a saved file (-c, f.whole bytes): the C side refused any body of a 206 (xfer.h: probe), so nothing
// was written and a restart keeps nothing.
func rerunVerdict(f *attemptFacts) (verdict, bool) {
	if f.conditional && f.httpCode == http.StatusNotModified && (f.state == stateRejected || f.curlCode == 0) {
		return verdict{kind: vUnchanged}, true
	}
	if f.whole <= 0 {
		return verdict{}, false
	}
	v := verdict{kind: vRestart, now: true}
	// A 416 with an empty body never reaches the write callback.
	refused := f.httpCode == http.StatusRequestedRangeNotSatisfiable && (f.state == stateRejected || f.curlCode == 0)
	switch {
	case refused && f.hdr.rangeTotal == f.whole:
		v.kind = vCompleted
	case refused:
		v.reason = fmt.Sprintf("the server's file is not the %d bytes saved: fetching it whole", f.whole)
	case f.state == stateRangeBad:
		v.reason = fmt.Sprintf("the server's file is longer than the %d bytes saved: fetching it whole", f.whole)
	default:
		// A 200 is the whole file (written as any fresh download); a
		// failure is judged as any other.
		return verdict{}, false
	}
	return v, true
}
