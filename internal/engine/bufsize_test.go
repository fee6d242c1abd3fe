package engine

import "testing"

// The rule alone: a host's transfers get the small buffer after smallRun
// small bodies in a row, a large body puts them back, ranges and other
// hosts are not affected, and neither libcurl 8.7 on nor the switch
// changes a size.
func TestBufSizer(t *testing.T) {
	const large = 512 << 10
	type step struct {
		host string
		seg  bool
		body int64 // ended with this body; -1: asks for a buffer instead
		want int   // when asking
	}
	small := func(h string) step { return step{host: h, body: 100} }
	ask := func(h string, want int) step { return step{host: h, body: -1, want: want} }
	runs := []struct {
		name    string
		libcurl int
		t       Tuning
		steps   []step
	}{
		{"small bodies in a row", 0x075801, Tuning{}, []step{
			ask("a", large), small("a"), small("a"), small("a"), ask("a", large),
			small("a"), ask("a", smallBody), ask("b", large), {host: "a", seg: true, body: -1, want: large},
			{host: "a", body: smallBody}, ask("a", smallBody), // at most smallBody is small
			{host: "a", body: smallBody + 1}, ask("a", large), // a large body puts it back
			small("a"), small("a"), small("a"), ask("a", large), small("a"), ask("a", smallBody),
			{host: "a", seg: true, body: 1 << 30}, ask("a", smallBody), // a range's body says nothing
		}},
		{"libcurl 8.7", 0x080700, Tuning{}, []step{
			small("a"), small("a"), small("a"), small("a"), small("a"), ask("a", large),
		}},
		{"switched off", 0x075801, Tuning{NoSmallBuffers: true}, []step{
			small("a"), small("a"), small("a"), small("a"), small("a"), ask("a", large),
		}},
	}
	for _, r := range runs {
		b := newBufSizer(r.libcurl, r.t)
		for i, s := range r.steps {
			if s.body >= 0 {
				b.ended(s.host, s.seg, s.body)
				continue
			}
			if got := b.size(s.host, s.seg, large); got != s.want {
				t.Errorf("%s: step %d (host %s, range %v): buffer %d, want %d", r.name, i, s.host, s.seg, got, s.want)
			}
		}
		// A size already below the small buffer (a speed cap, a huge -j)
		// is kept.
		if got := b.size("a", false, 16<<10); got != 16<<10 {
			t.Errorf("%s: a 16 KiB buffer became %d", r.name, got)
		}
	}
}
