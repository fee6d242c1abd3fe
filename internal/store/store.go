// Package store keeps what earlier runs learned about the files they saved
// under a --dir (each file's ETag, Last-Modified, size and time), so that a
// later run with -N can ask the server whether a file changed.
//
// The store is a folder of append-only logs inside the --dir,
// DIR/.multiget/state/XX.jsonl, one per bucket of a hash of the file's path
// relative to DIR (256 buckets), one JSON record per line. Why this shape:
//
//   - It travels with the files: tar, CI caches, rsync and cp -r carry plain
//     files (extended attributes do not survive most of them), and paths
//     are relative to DIR.
//   - A lookup reads one bucket, not the store: a million records spread
//     over 256 files is about 4,000 records (some 600 KB) per bucket,
//     read once per run and only for the buckets a run touches.
//   - A write is one append of one line with O_APPEND, a single write(2):
//     the kernel orders appends of several processes (shards of one list
//     in one DIR) one after another, and a crash (kill -9, power loss)
//     leaves at worst a cut last line. Every record begins and ends with a
//     newline, so a cut line never swallows the next one, and a line that
//     does not parse is ignored: the store then holds the old record or the
//     new, never a torn one. The last record of a path wins.
//   - It stays small: a bucket with many superseded records is rewritten
//     (to a temporary file renamed over it) under an exclusive flock(2);
//     appenders hold a shared flock and check that the file they opened is
//     still the bucket, so no append goes to a replaced file.
//
// On NFS, O_APPEND and flock are not dependable: keep the state of a DIR on
// such a mount to one process at a time.
package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Dir is the store's folder inside a --dir.
const Dir = ".multiget/state"

const buckets = 256

// Record is what a run learned about one saved file.
type Record struct {
	Path         string `json:"path"` // relative to the --dir, with "/"
	URL          string `json:"url,omitempty"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Size         int64  `json:"size"`
	MTime        int64  `json:"mtime_ns"` // the saved file's modification time
	// SavedAs is where the file was saved (relative to the --dir) when
	// that is not Path, the name its entry gives (the server named it:
	// --content-disposition).
	SavedAs string `json:"saved_as,omitempty"`
}

// Describes says whether r is about the file fi: the same size and time
// as when it was saved (a file edited or replaced since is not).
func (r Record) Describes(fi os.FileInfo) bool {
	return fi.Size() == r.Size && fi.ModTime().UnixNano() == r.MTime
}

// Store is the state of one --dir. Its methods are safe for concurrent use.
type Store struct {
	root string // DIR/.multiget/state

	mu     sync.Mutex
	loaded map[int]map[string]Record
}

// Open returns the store of dir. Nothing is read or created until a lookup
// or a write needs it.
func Open(dir string) *Store {
	return &Store{root: filepath.Join(dir, filepath.FromSlash(Dir)), loaded: map[int]map[string]Record{}}
}

func bucketOf(path string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(path))
	return int(h.Sum32() % buckets)
}

func (s *Store) bucketPath(b int) string { return filepath.Join(s.root, fmt.Sprintf("%02x.jsonl", b)) }

// Get returns the latest record of path (relative to the --dir, "/"
// separated). A bucket that cannot be read counts as empty: the caller then
// downloads as if nothing was known, which is always correct.
func (s *Store) Get(path string) (Record, bool) {
	b := bucketOf(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.loaded[b]
	if !ok {
		m = s.load(b)
		s.loaded[b] = m
	}
	r, ok := m[path]
	return r, ok
}

// Put appends r as the latest record of r.Path.
func (s *Store) Put(r Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(line)+2)
	buf = append(append(append(buf, '\n'), line...), '\n')
	b := bucketOf(r.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendLine(b, buf); err != nil {
		return fmt.Errorf("state store %s: %w", s.bucketPath(b), err)
	}
	if m, ok := s.loaded[b]; ok {
		m[r.Path] = r
	}
	return nil
}

// appendLine writes buf at the end of bucket b with one write(2), under a
// shared lock on the file that is the bucket now.
func (s *Store) appendLine(b int, buf []byte) error {
	if err := os.MkdirAll(s.root, 0o777); err != nil {
		return err
	}
	p := s.bucketPath(b)
	for tries := 0; ; tries++ {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
		if err != nil {
			return err
		}
		if err := flock(f, unix.LOCK_SH); err != nil {
			f.Close()
			return err
		}
		// A compaction may have renamed a new file over the one opened.
		if current(f, p) || tries == 8 {
			_, err = f.Write(buf)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		}
		f.Close()
	}
}

// current says whether f is still the file at p.
func current(f *os.File, p string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(p)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// load reads bucket b, keeping the last valid record of each path, and
// compacts it when most of its lines are superseded.
func (s *Store) load(b int) map[string]Record {
	m := map[string]Record{}
	f, err := os.Open(s.bucketPath(b))
	if err != nil {
		return m
	}
	defer f.Close()
	lines := readRecords(f, m)
	if lines > 2*len(m)+64 {
		s.compact(b, f)
		clear(m)
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			readRecords(f, m)
		}
	}
	return m
}

// readRecords adds the records of r to m and returns how many lines held one.
func readRecords(r io.Reader, m map[string]Record) int {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if json.Unmarshal(line, &rec) != nil || rec.Path == "" {
			continue // a line cut by a crash
		}
		m[rec.Path] = rec
		n++
	}
	return n
}

// compact rewrites bucket b (open as f) with only its latest records. It
// holds an exclusive lock on f, so no process appends to it meanwhile, and
// reads it again under that lock: appends made since load are kept.
func (s *Store) compact(b int, f *os.File) {
	if flock(f, unix.LOCK_EX) != nil {
		return
	}
	defer func() { _ = flock(f, unix.LOCK_UN) }()
	p := s.bucketPath(b)
	if !current(f, p) {
		return // another process compacted it first
	}
	m := map[string]Record{}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return
	}
	readRecords(f, m)
	var out bytes.Buffer
	for _, r := range m {
		line, err := json.Marshal(r)
		if err != nil {
			return
		}
		out.WriteByte('\n')
		out.Write(line)
		out.WriteByte('\n')
	}
	tmp, err := os.CreateTemp(s.root, fmt.Sprintf(".%02x-*.tmp", b))
	if err != nil {
		return
	}
	_, err = tmp.Write(out.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil || os.Rename(tmp.Name(), p) != nil {
		_ = os.Remove(tmp.Name())
	}
}
