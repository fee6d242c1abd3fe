package engine

// The engine's public types: entries, results and the observer.

import "time"

// Entry is one line of a URL list (or one command-line argument) ready for
// the engine. Entries that failed validation still reach the engine with
// Invalid set, so that every entry produces exactly one Result.
type Entry struct {
	// Source names where the entry came from: "FILE:LINE", "-:LINE" for
	// stdin, or "arg:N" for the N-th URL argument (1-based).
	Source string
	// URL is what is requested: the URL as written in the list, except
	// that an internationalised host is in its ASCII form and the path
	// has no dot segments (naming.Request).
	URL string
	// Written is the URL as written when that differs from URL; results
	// show it, so they match the list. "" when the same.
	Written string
	// Mirrors are other URLs of the same file (in the list's order, each
	// in the form URL is), tried when a failure on one URL could be fixed
	// by another (mirrors.go). Path is named after URL.
	Mirrors []string
	// Path is the final output path (already joined with --dir, cleaned,
	// and proven to stay inside it). Empty when Invalid is set.
	Path string
	// Invalid, when non-nil, makes the entry fail without any transfer;
	// its message is reported as is.
	Invalid error
	// Checksums the finished file must match; all of them are verified.
	Checksums []Checksum
	// Size, when SizeKnown, is the finished file's size in bytes (size=
	// in a list, a Metalink's <size>): another size fails it as a checksum
	// mismatch would, before the checksums are read.
	Size      int64
	SizeKnown bool
	// NamedByURL is set when Path's last element came from the URL, so a
	// server's Content-Disposition may replace it (--content-disposition).
	NamedByURL bool
}

// AsWritten is the entry's URL as the list wrote it.
func (en *Entry) AsWritten() string {
	if en.Written != "" {
		return en.Written
	}
	return en.URL
}

// StopCause, as the cause of the run's context (context.WithCancelCause),
// says why the run stops, e.g. "results cannot be written to stdout":
// running transfers are "aborted: REASON", queued entries "not started:
// REASON". A context cancelled otherwise reads "interrupted".
type StopCause struct{ Reason string }

func (c *StopCause) Error() string { return c.Reason }

// NotStarted is the result of an entry the run stopped before starting
// (an invalid one is still reported invalid: it needed no transfer).
func NotStarted(en Entry, reason string) Result {
	r := Result{Source: en.Source, URL: en.AsWritten(), Path: en.Path, Status: StatusInterrupted, Error: "not started: " + reason}
	if en.Invalid != nil {
		r.Path, r.Status, r.Error = "", StatusInvalid, en.Invalid.Error()
	}
	return r
}

// Checksum is an expected digest of a whole file.
type Checksum struct {
	Algo string // sha256, sha512, sha1 or md5
	Hex  string // lowercase hex
}

// Status is the outcome of one entry.
type Status string

const (
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
	StatusInvalid Status = "invalid"
	// StatusUnchanged is a -N rerun's entry whose server said the saved
	// file is current (304): nothing was fetched.
	StatusUnchanged Status = "unchanged"
	// StatusInterrupted is an entry the run stopped (a signal, --fail-fast,
	// results that cannot be written) before it finished: aborted, or never
	// started. It did not fail on its own; -c continues it.
	StatusInterrupted Status = "interrupted"
	// StatusPlanned is a valid entry of a --dry-run: it would be
	// downloaded. The engine itself never reports it.
	StatusPlanned Status = "planned"
)

// Result is what the engine reports for one entry, exactly once.
type Result struct {
	Source       string
	URL          string
	EffectiveURL string
	Path         string
	Status       Status
	HTTPCode     int    // last response code, 0 when none was received
	CurlCode     int    // libcurl CURLcode, 0 for none
	Error        string // human-readable reason, empty when Status is ok
	Bytes        int64  // body bytes received for this entry, over all attempts
	Duration     time.Duration
	Attempts     int               // transfers tried; 0 when none was
	Ranges       int               // byte ranges a split download was fetched in; 0 when not split
	Verified     map[string]string // algo -> hex of the checksums that matched
	// Tried lists the URLs asked, in order, when the entry has mirrors
	// (nil otherwise); EffectiveURL is where the last answer came from.
	Tried []string
}

// Progress is a snapshot of the whole run, sent between perform calls.
type Progress struct {
	Done   int   // entries with a Result so far
	Active int   // transfers running now
	Bytes  int64 // body bytes received so far, finished and running transfers
	// Running counts the files being downloaded (the ranges of a split
	// download are one file); Unsized those of them whose size is not
	// known (no Content-Length yet, or a body decoded by --compressed).
	Running, Unsized int
	// Expected is Bytes plus what the running files of known size have
	// still to receive: the run's total once nothing else is to come.
	Expected int64
	// Largest are up to MaxLargest running files, the largest first.
	Largest []FileProgress
}

// MaxLargest bounds Progress.Largest.
const MaxLargest = 3

// FileProgress is one running file: Bytes of Size are in it (a resumed
// file counts what an earlier run kept); Size is -1 when not known.
type FileProgress struct {
	Path        string
	Bytes, Size int64
}

// Observer receives the engine's events. All calls come from the engine's
// own goroutine, one at a time; implementations must not block for long.
type Observer interface {
	Progress(Progress)
	Result(Result)
}
