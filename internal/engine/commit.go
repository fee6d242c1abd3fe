package engine

// Finished files: checksums, the move to the final name (rename, or the
// linker for unnamed files), and removing what a failed entry leaves.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// finishFile takes a complete NAME.part to its final name: after checking
// its checksums (off the loop's goroutine), under the server's name when
// --content-disposition gave one.
func (e *engine) finishFile(j *job, cdName string) {
	target := j.entry.Path
	if cdName != "" {
		p := filepath.Join(filepath.Dir(target), cdName)
		if p != target {
			if e.cfg.Claim != nil {
				if err := e.cfg.Claim(p, j.entry.Source); err != nil {
					j.last.Error = fmt.Sprintf("server's file name: %v", err)
					e.dropTmp(j)
					e.dropPart(j)
					e.fail(j)
					return
				}
			}
			target = p
		}
	}
	if err := e.checkSize(j); err != nil {
		e.notTheFile(j, err)
		return
	}
	if len(j.entry.Checksums) > 0 {
		e.setState(j, stVerifying)
		e.verifying++
		go verify(j, target, e.verified)
		return
	}
	e.commitJob(j, target, nil)
}

func (e *engine) collectVerified(block bool) {
	for e.verifying > 0 {
		if block {
			e.finishVerify(<-e.verified)
			return
		}
		select {
		case v := <-e.verified:
			e.finishVerify(v)
		default:
			return
		}
	}
}

func (e *engine) finishVerify(v verifyResult) {
	e.verifying--
	if v.existing {
		e.finishWholeVerify(v)
		return
	}
	var mismatch *ChecksumError
	if errors.As(v.err, &mismatch) {
		e.notTheFile(v.job, v.err)
		return
	}
	if v.err != nil {
		v.job.last.Error = v.err.Error()
		e.dropPart(v.job)
		e.fail(v.job)
		return
	}
	e.commitJob(v.job, v.target, v.sums)
}

// linkWait is an entry whose unnamed file the linker is naming.
type linkWait struct {
	j      *job
	target string
	sums   map[string]string
}

// output is a finished body that is not in NAME.part: an unnamed file
// (see "Small files" in linker.c) or a body for the linker to write (see
// "Hand-over" there), taken from the transfer that finished it.
type output struct {
	kind outputKind
	fd   int            // outTmpfile
	body unsafe.Pointer // outBody
	n    int64
}

type outputKind uint8

const (
	outPart    outputKind = iota // the body is in NAME.part
	outTmpfile                   // an unnamed file, open as fd
	outBody                      // n bytes at body
)

// takeOutput takes what x finished outside NAME.part, if anything.
func takeOutput(x cxfer) output {
	if fd := x.takeFD(); fd >= 0 {
		return output{kind: outTmpfile, fd: fd}
	}
	if b, n, ok := x.takeBody(); ok {
		return output{kind: outBody, body: b, n: n}
	}
	return output{}
}

// dropTmp closes an unnamed file that will not be linked, or frees a body
// that will not be written: its bytes go.
func (e *engine) dropTmp(j *job) {
	switch j.out.kind {
	case outBody:
		freeBody(j.out.body, j.out.n)
	case outTmpfile:
		_ = unix.Close(j.out.fd)
	}
	j.out = output{}
}

// collectLinks reports the entries whose files the linker has named; with
// block it waits for at least one.
func (e *engine) collectLinks(block bool) {
	if len(e.linking) == 0 {
		return
	}
	e.linkBuf = linkCollect(e.linkBuf[:0], block)
	for _, l := range e.linkBuf {
		w := e.linking[l.id]
		delete(e.linking, l.id)
		var err error
		switch {
		case l.err == 0:
		case fdShortage(l.err) && w.j.tries.fdWaits < maxFDWaits && e.stopReason == "":
			// Out of descriptors for the file: fetch it again after a
			// backoff, not spent from --retry.
			w.j.tries.fdWaits++
			w.j.last.Error = (&DiskError{Op: l.op, Path: w.target, Err: l.err}).Error()
			e.scheduleRetry(w.j, 0)
			continue
		case l.err == unix.EWOULDBLOCK:
			err = &BusyError{Path: w.target + PartSuffix}
		case l.err == unix.EEXIST && e.cfg.NoClobber:
			err = errExists
		default:
			err = &DiskError{Op: l.op, Path: w.target, Err: l.err}
		}
		e.committed(w.j, w.target, w.sums, err)
	}
}

func (e *engine) commitJob(j *job, target string, sums map[string]string) {
	if j.out.kind != outPart {
		e.linkID++
		var queued bool
		if j.out.kind == outBody {
			queued = linkSubmitBody(j.out.body, j.out.n, target, e.cfg.NoClobber, e.linkID)
		} else {
			queued = linkSubmit(j.out.fd, target, e.cfg.NoClobber, e.linkID)
		}
		if queued {
			j.out = output{}
			e.setState(j, stLinking)
			if e.linking == nil {
				e.linking = make(map[int64]linkWait)
			}
			e.linking[e.linkID] = linkWait{j, target, sums}
			return
		}
		e.dropTmp(j)
		e.committed(j, target, sums, &DiskError{Op: "link to", Path: target, Err: unix.ENOMEM})
		return
	}
	// NAME.part is this process's to rename (it holds it, or takes it now:
	// a resume that found the file complete never opened it). Its .meta
	// goes first, while the file is still held.
	part := j.entry.Path + PartSuffix
	if err := j.part.take(part); err != nil {
		var busy *BusyError
		if !errors.As(err, &busy) {
			err = &DiskError{Op: "rename to", Path: target, Err: err}
		}
		e.committed(j, target, sums, err)
		return
	}
	e.removeMeta(j)
	e.committed(j, target, sums, e.commit(part, target))
}

// committed reports an entry whose file was (err == nil) or could not be
// given its final name.
func (e *engine) committed(j *job, target string, sums map[string]string, err error) {
	r := e.baseResult(j)
	r.Path = target
	r.Verified = sums
	if err != nil {
		r.Error = err.Error()
		r.Status = StatusFailed
		if errors.Is(err, errExists) {
			r.Status = StatusSkipped
		}
		e.dropPart(j)
	} else {
		r.Status = StatusOK
		r.Error = ""
		e.saved(j, target)
	}
	j.part.release()
	e.result(r)
	e.setState(j, stDone)
}

// dropPart removes NAME.part and, when there may be one, its .meta (first),
// unless another process holds NAME.part: then both are its own.
func (e *engine) dropPart(j *job) {
	j.part.remove(j.entry.Path+PartSuffix, j.resume.mayExist())
	j.resume.written = false
}

var errExists = errors.New("target exists (--no-clobber)")

// maxFDWaits bounds the attempts an entry may spend waiting for
// descriptors outside its --retry budget.
const maxFDWaits = 100

// commit moves NAME.part over NAME in one rename, so NAME never holds a
// partial file. With --no-clobber the rename must not replace anything.
func (e *engine) commit(part, path string) error {
	if e.cfg.NoClobber {
		err := renameAt(part, path, true)
		if err == nil {
			return nil
		}
		if errors.Is(err, unix.EEXIST) {
			return errExists
		}
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			return &DiskError{Op: "rename to", Path: path, Err: err}
		}
		// The filesystem cannot refuse to replace: check, then rename.
		if _, err := os.Lstat(path); err == nil {
			return errExists
		}
	}
	if err := renameAt(part, path, false); err != nil {
		return &DiskError{Op: "rename to", Path: path, Err: err}
	}
	return nil
}
