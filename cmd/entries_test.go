package cmd

import (
	"reflect"
	"strings"
	"testing"

	"github.com/multiget/multiget/internal/engine"
	"github.com/multiget/multiget/internal/naming"
)

// produceAll runs produce over one list and returns the entries it hands
// to the engine.
func produceAll(t *testing.T, o *Options, name, text string) []engine.Entry {
	t.Helper()
	if o.protocols == nil {
		o.protocols = knownProtocols
	}
	if o.Dir == "" {
		o.Dir = "d"
	}
	ch := make(chan []engine.Entry, 1000)
	_, complete, err := produce(newIntake(), o, naming.NewTargets(), []source{{name: name, r: strings.NewReader(text)}}, nil, ch)
	if err != nil || !complete {
		t.Fatalf("produce = %v, complete %v", err, complete)
	}
	close(ch)
	var out []engine.Entry
	for b := range ch {
		out = append(out, b...)
	}
	return out
}

func TestEntriesMirrors(t *testing.T) {
	list := "http://a/x.iso\thttp://b/y/x.iso\thttps://c/%2e%2e/x.iso\n" +
		"http://a/2 mirror=http://b/2 out=two\n  mirror=ftp://c/2\n" +
		"http://a/3 mirror=http://a/3 mirror=http://b/3 http://b/3\n" +
		"http://a/4 mirror=http://bücher.example/4\n" +
		"http://a/5 mirror=gopher://b/5\n"
	got := produceAll(t, &Options{}, "l", list)
	want := []struct {
		path    string
		mirrors []string
		invalid string
	}{
		{"d/x.iso", []string{"http://b/y/x.iso", "https://c/x.iso"}, ""},
		{"d/two", []string{"http://b/2", "ftp://c/2"}, ""},
		// repeats of the URL or of a mirror are dropped
		{"d/3", []string{"http://b/3"}, ""},
		{"d/4", []string{"http://xn--bcher-kva.example/4"}, ""},
		{"", nil, `mirror "gopher://b/5": protocol "gopher" not allowed`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if w.invalid != "" {
			if e.Invalid == nil || !strings.Contains(e.Invalid.Error(), w.invalid) {
				t.Errorf("entry %d: Invalid = %v, want %q", i, e.Invalid, w.invalid)
			}
			continue
		}
		if e.Invalid != nil || e.Path != w.path || !reflect.DeepEqual(e.Mirrors, w.mirrors) {
			t.Errorf("entry %d = path %q mirrors %q invalid %v; want %q %q", i, e.Path, e.Mirrors, e.Invalid, w.path, w.mirrors)
		}
	}
}
