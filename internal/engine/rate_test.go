//go:build mgtest

package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A transfer under a speed cap whose writer falls behind never pauses: it
// writes its full buffer itself on the loop thread. From libcurl 8.18 on,
// every resume from a pause starts the cap afresh (see pauserFor), so a
// pausing transfer ran well above it. The cap (8 MiB/s) lets libcurl read
// more at once than the transfer's buffers hold (2 MiB), and the writer is
// held until the transfer pauses or for a second: a pausing engine pauses,
// one that writes on the loop thread does not, and the file arrives whole
// either way.
func TestCappedTransferNeverPauses(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const n = 6 << 20
	holdWriters(true)
	t.Cleanup(func() { holdWriters(false) })
	before := pauses()
	done := make(chan struct{})
	defer close(done)
	go func() {
		deadline := time.After(time.Second)
		for pauses() == before {
			select {
			case <-done:
				return
			case <-deadline:
				holdWriters(false)
				return
			case <-time.After(time.Millisecond):
			}
		}
		holdWriters(false)
	}()
	path := filepath.Join(dir, "capped")
	_, st := run(t, context.Background(), Config{Parallel: 1, LimitRate: 8 << 20, Protocols: []string{"http"}},
		[]Entry{{Source: "capped", URL: fmt.Sprintf("%s/size/%d/capped", s.URL, n), Path: path}})
	if st.OK != 1 {
		t.Fatalf("%+v", st)
	}
	if d := pauses() - before; d != 0 {
		t.Errorf("the capped transfer was paused %d times, want none", d)
	}
	fileIs(t, path, body("capped", n))
}
