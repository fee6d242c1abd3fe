package engine

// Resuming: NAME.part.meta, and the validators and ranges it records.

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// responseValidator names the version of the resource just received, for
// If-Range: a strong ETag, else Last-Modified (weak ETags cannot validate
// a range).
func responseValidator(easy unsafe.Pointer) string {
	if et := strings.TrimSpace(header(easy, "ETag")); et != "" && !strings.HasPrefix(et, "W/") {
		return et
	}
	return strings.TrimSpace(header(easy, "Last-Modified"))
}

func acceptsRanges(easy unsafe.Pointer) bool {
	return strings.EqualFold(strings.TrimSpace(header(easy, "Accept-Ranges")), "bytes")
}

// rangeTotal parses the size out of "bytes */SIZE" (a 416 answer), -1 if none.
func rangeTotal(v string) int64 {
	_, total, ok := strings.Cut(v, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// resumeRecord is what this run knows of NAME.part.meta.
type resumeRecord struct {
	written bool // the .meta describes the current .part
	seen    bool // a .part existed before some attempt: a stale .meta may too
	reload  bool // another process held NAME.part: look at it afresh (-c) next attempt
}

// mayExist says whether a .meta may lie beside NAME.part.
func (r resumeRecord) mayExist() bool { return r.written || r.seen }

// setValidator records the version NAME.part is a prefix of; a new one
// makes the .meta out of date.
func (j *job) setValidator(v string) {
	if v != j.validator {
		j.validator, j.resume.written = v, false
	}
}

// meta is what NAME.part.meta records: which resource the .part is a prefix
// of, so a later run with -c resumes only the same version of it.
type meta struct {
	URL       string `json:"url"`
	Validator string `json:"validator"`
	// A split download records its ranges: [start, end, done] each, and
	// the size they partition. Without them the .part is a prefix.
	Size     int64      `json:"size,omitempty"`
	Segments [][3]int64 `json:"segments,omitempty"`
}

func metaPath(j *job) string { return j.entry.Path + PartSuffix + MetaSuffix }

// metaTmpSuffix names the file a .meta is written to before it is renamed
// over the .meta.
const metaTmpSuffix = ".tmp"

// loadResume sets j to continue NAME.part when its .meta says it holds a
// prefix of this URL with a validator to check it by. Otherwise the
// download starts over (and the stale .part is replaced).
func (e *engine) loadResume(j *job) {
	fi, err := os.Lstat(j.entry.Path + PartSuffix)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return
	}
	b, err := os.ReadFile(metaPath(j))
	if err != nil {
		return
	}
	var m meta
	if json.Unmarshal(b, &m) != nil || m.URL != j.entry.URL || m.Validator == "" {
		return
	}
	if len(m.Segments) > 0 {
		if segs := restoreSegments(m.Segments, m.Size); segs != nil && splitPartOK(j.entry.Path+PartSuffix) {
			j.segs, j.total, j.validator, j.splitting = segs, m.Size, m.Validator, splitYes
			j.resume.written, j.resume.seen = true, true
		}
		return
	}
	j.offset, j.validator = fi.Size(), m.Validator
	j.resume.written, j.resume.seen = true, true
}

// writeMeta records j's validator beside its .part; best effort, since
// without it a later -c simply starts over.
func (e *engine) writeMeta(j *job) {
	if j.resume.written || j.validator == "" {
		return
	}
	m := meta{URL: j.entry.URL, Validator: j.validator}
	if j.segs != nil {
		m.Size, m.Segments = j.total, segmentsMeta(j)
	}
	b, _ := json.Marshal(m)
	if j.segs != nil {
		// Rewritten as the ranges progress (recordSplitMeta).
		j.metaAt = time.Now()
	}
	// Complete or not at all: a full disk, or a crash in the middle of a
	// rewrite, must not leave an empty or cut .meta. Only the process
	// holding NAME.part writes its .meta, so the temporary name is this
	// entry's alone.
	tmp := metaPath(j) + metaTmpSuffix
	if os.WriteFile(tmp, b, 0o666) != nil || os.Rename(tmp, metaPath(j)) != nil {
		_ = os.Remove(tmp)
		return
	}
	j.resume.written = true
}

// metaEvery is how often a running split download records its ranges'
// progress: a crash (kill -9, an OOM kill) then costs a later -c at most
// this long of transfer. A small file rewritten a few times a second costs
// nothing measurable.
const metaEvery = 250 * time.Millisecond

// recordSplitMeta rewrites the .meta of split downloads whose last record
// is metaEvery old, with what their ranges have flushed to the file.
func (e *engine) recordSplitMeta() {
	if len(e.sch.splits) == 0 {
		return
	}
	now := time.Now()
	for j := range e.sch.splits {
		if now.Sub(j.metaAt) >= metaEvery {
			j.resume.written = false
			e.writeMeta(j)
		}
	}
}

// removeMeta removes the .meta, also one an earlier run left beside a
// .part this run replaced.
func (e *engine) removeMeta(j *job) {
	if j.resume.mayExist() {
		_ = unix.Unlink(metaPath(j))
	}
	if j.segs != nil {
		// Left by a crash between writing and renaming, if at all.
		_ = unix.Unlink(metaPath(j) + metaTmpSuffix)
	}
	j.resume.written = false
}

// recordMeta writes the .meta of transfers that have started writing and
// whose response named a version, so that a crash or interrupt leaves a
// resumable .part. Transfers that finish within one perform never get one.
func (e *engine) recordMeta() {
	e.recordSplitMeta()
	for _, t := range e.active {
		j := t.job
		if t.metaDone || t.seg != nil || t.x.state() != stateWriting || t.x.tmpfile() {
			continue
		}
		t.metaDone = true
		// A 206 (appended: it started at the offset asked for) shows that
		// ranges work even without Accept-Ranges, which nginx leaves out.
		if !isHTTP(j.entry.URL) || (!acceptsRanges(t.easy.GetHandle()) && t.x.code() != http.StatusPartialContent) {
			continue
		}
		if v := responseValidator(t.easy.GetHandle()); v != "" {
			j.setValidator(v)
			e.writeMeta(j)
		}
	}
}

// segmentsMeta and restoreSegments convert ranges to and from the .meta.
func segmentsMeta(j *job) [][3]int64 {
	var out [][3]int64
	for _, s := range j.segs {
		done := s.done
		if s.t != nil {
			// Only what is flushed to the file counts after a crash.
			done = s.t.x.flushed() - s.start
			if s.t.x.state() != stateWriting {
				done = s.done
			}
		}
		out = append(out, [3]int64{s.start, s.end, done})
	}
	return out
}

func restoreSegments(m [][3]int64, size int64) []*segment {
	var segs []*segment
	var prev int64
	for _, r := range m {
		start, end, done := r[0], r[1], r[2]
		if start != prev || end <= start || done < 0 || done > end-start {
			return nil // not a partition of the file: start over
		}
		segs = append(segs, &segment{start: start, end: end, done: done})
		prev = end
	}
	if len(segs) == 0 || prev != size {
		return nil
	}
	return segs
}

// splitPartOK tells whether NAME.part can hold the recorded ranges.
func splitPartOK(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular()
}
