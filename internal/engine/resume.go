package engine

import (
	"encoding/json"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/multiget/multiget/internal/naming"
)

// Which failures are worth another attempt. Everything else — other 4xx,
// TLS verification, bad URLs, disk errors, too many redirects — fails at
// once, because trying again cannot change the answer.
var transientCurlCodes = map[int]bool{
	5:  true, // could not resolve proxy
	6:  true, // could not resolve host (often a passing DNS failure)
	7:  true, // could not connect
	16: true, // HTTP/2 framing layer error
	18: true, // partial file: fewer bytes than announced
	28: true, // timeout, and stalls (--stall-timeout)
	35: true, // TLS handshake broken off (a reset, not a verification failure)
	52: true, // empty reply
	55: true, // send failed
	56: true, // receive failed (connection reset)
	92: true, // HTTP/2 stream error
	95: true, // HTTP/3 layer error
}

func transientCurl(code int) bool { return transientCurlCodes[code] }

func transientHTTP(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

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

// contentDispositionName is the server's file name, reduced to one safe
// name: only its last element counts (a path in it is never followed), and
// that element is sanitised like a name from a URL. "" when there is none.
func contentDispositionName(v string) string {
	if v == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	name := params["filename"] // mime decodes filename*= into filename
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimRight(name, "/"))
	if name == "" || name == "." || name == ".." || name == "/" {
		return ""
	}
	name = naming.Sanitize(name)
	// A server must not name a file like multiget's own temporary files:
	// a planted NAME.part with a NAME.part.meta could feed a later -c.
	if strings.HasSuffix(name, PartSuffix) || strings.HasSuffix(name, PartSuffix+MetaSuffix) ||
		strings.HasSuffix(name, PartSuffix+MetaSuffix+metaTmpSuffix) {
		return ""
	}
	return name
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
			j.segs, j.total, j.validator, j.metaSet, j.partSeen, j.noSplit = segs, m.Size, m.Validator, true, true, true
		}
		return
	}
	j.offset, j.validator, j.metaSet, j.partSeen = fi.Size(), m.Validator, true, true
}

// writeMeta records j's validator beside its .part; best effort, since
// without it a later -c simply starts over.
func (e *engine) writeMeta(j *job) {
	if j.metaSet || j.validator == "" {
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
	j.metaSet = true
}

// metaEvery is how often a running split download records its ranges'
// progress: a crash (kill -9, an OOM kill) then costs a later -c at most
// this long of transfer. A small file rewritten a few times a second costs
// nothing measurable.
const metaEvery = 250 * time.Millisecond

// recordSplitMeta rewrites the .meta of split downloads whose last record
// is metaEvery old, with what their ranges have flushed to the file.
func (e *engine) recordSplitMeta() {
	if len(e.splitJobs) == 0 {
		return
	}
	now := time.Now()
	for j := range e.splitJobs {
		if now.Sub(j.metaAt) >= metaEvery {
			j.metaSet = false
			e.writeMeta(j)
		}
	}
}

// removeMeta removes the .meta, also one an earlier run left beside a
// .part this run replaced.
func (e *engine) removeMeta(j *job) {
	if j.metaSet || j.partSeen {
		_ = unix.Unlink(metaPath(j))
	}
	if j.segs != nil {
		// Left by a crash between writing and renaming, if at all.
		_ = unix.Unlink(metaPath(j) + metaTmpSuffix)
	}
	j.metaSet = false
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
			if v != j.validator {
				j.validator, j.metaSet = v, false
			}
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
