package cmd

import "testing"

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1234", 1234, true},
		{"500K", 500 << 10, true},
		{"20M", 20 << 20, true},
		{"20MiB", 20 << 20, true},
		{"1.5G", 3 << 29, true},
		{"2k", 2048, true},
		{"", 0, false},
		{"M", 0, false},
		{"-1", 0, false},
		{"ten", 0, false},
		{"1e30", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseSize(c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Fatalf("parseSize(%q) = %d, %v", c.in, got, err)
			}
		})
	}
}
