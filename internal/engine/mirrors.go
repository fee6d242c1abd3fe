package engine

// Mirrors: an entry may name several URLs of one file (Entry.Mirrors). A
// whole-file attempt that fails in a way another server could fix (its
// connection, its TLS, an HTTP error status, a stall, a short body, a
// checksum that does not match what it sent) moves at once to the next
// URL, without a backoff and without spending --retry: --retry counts
// rounds, a round being one attempt on each URL. When every URL of the
// round has failed, the verdict stands as it would with one URL (a
// backoff and the next round from the next URL, or the failure).
//
// Each attempt counts for its own URL's host (j.host follows the URL), so
// a 429 from one mirror pauses that mirror alone. Headers given with -H
// for the entry's own host never go to a mirror on another one. A prefix
// kept from one URL is continued on the next only through If-Range: a
// mirror with another version of the file answers 200 and the file starts
// over. A split download takes its ranges from the URL its first response
// came from, unless the entry has a checksum: then its ranges are spread
// over all its URLs (the checksum proves the whole; no If-Range can, as
// each server names its versions its own way), and a range that fails
// moves to another URL. A spread split whose checksum fails cannot tell
// which server lied: the file is fetched again from the next URL alone.

// url is the URL j's next whole-file attempt asks.
func (j *job) url() string {
	if j.mirror == 0 {
		return j.entry.URL
	}
	return j.entry.Mirrors[j.mirror-1]
}

// urls is how many URLs j has.
func (j *job) urls() int { return 1 + len(j.entry.Mirrors) }

// noteTried records that j asks u, for the result's list of URLs tried.
func (j *job) noteTried(u string) {
	if j.urls() > 1 && (len(j.tried) == 0 || j.tried[len(j.tried)-1] != u) {
		j.tried = append(j.tried, u)
	}
}

// mirrorFixable says whether another server could have done better than
// the one that answered f: false for what lies on this side (the disk,
// another process holding NAME.part, descriptors), a resume's own
// restarts, and an abort of ours.
func mirrorFixable(f *attemptFacts) bool {
	switch {
	case f.busy, f.outOfFDs, f.state == stateIOErr, f.state == stateRangeBad, f.stopping:
		return false
	case f.stalled, f.incomplete != "":
		return true
	case f.state == stateRejected || (f.curlCode == 0 && f.httpCode >= 400):
		return f.httpCode >= 400 && f.httpCode != 416
	}
	return f.curlCode != 0 && f.curlCode != curlWriteError
}

// nextMirror moves j to its next URL when the round has one left, and
// says whether it did.
func (e *engine) nextMirror(j *job) bool {
	if j.urls() < 2 || j.roundTried >= j.urls() || e.stopReason != "" {
		return false
	}
	j.roundTried++
	j.tries.switches++
	e.setURL(j, (j.mirror+1)%j.urls())
	return true
}

// nextRound starts a new round of j's URLs, from the one after the last
// tried, for a retry the budget allows.
func (e *engine) nextRound(j *job) {
	if j.urls() < 2 {
		return
	}
	j.roundTried = 1
	e.setURL(j, (j.mirror+1)%j.urls())
}

func (e *engine) setURL(j *job, i int) {
	j.mirror = i
	j.host = hostKey(j.url())
	j.setRangeURL("")
}

// spreading says whether j's ranges may come from all its URLs.
func (j *job) spreading() bool {
	return j.urls() > 1 && len(j.entry.Checksums) > 0 && !j.noSpread
}

// spreadURL is the URL of j's i-th range (segment.mirror): the URL the
// probe answered from for every n-th, the others in turn between.
func (j *job) spreadURL(i int) int {
	n := j.urls()
	if !j.spreading() || i%n == 0 {
		return 0
	}
	k := i%n - 1 // the k-th URL other than the one the probe asked
	if k >= j.mirror {
		k++
	}
	return k + 1
}

// segmentURL is where range s of j is fetched, and its host.
func (j *job) segmentURL(s *segment) (string, string) {
	if s.mirror == 0 {
		return j.rangeURL(), j.rangeHost()
	}
	u := j.entry.URL
	if s.mirror > 1 {
		u = j.entry.Mirrors[s.mirror-2]
	}
	return u, hostKey(u)
}

// notTheFile handles a finished body that is not the entry's file (its
// checksum or size is wrong): what this URL sent goes, and the next URL
// may be honest; with none left in the round, the entry fails.
func (e *engine) notTheFile(j *job, err error) {
	j.last.Error = err.Error()
	e.dropTmp(j)
	e.dropPart(j)
	if !e.nextMirror(j) {
		e.fail(j)
		return
	}
	j.noSpread = j.noSpread || j.spreading()
	j.segs, j.validator, j.offset, j.total, j.splitting = nil, "", 0, 0, splitMaybe
	e.retryNow(j)
}
