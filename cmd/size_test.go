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

func TestParseRate(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"500K", 500 << 10, true},
		{"2M/s", 2 << 20, true},
		{"2MiB", 2 << 20, true},
		{"100000", 100000, true},
		{"0.5", 0, false},
		{"fast", 0, false},
		{"1e3", 0, false},
		{"-5K", 0, false},
		{"9999999G", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseRate("--limit-rate", c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Fatalf("parseRate(%q) = %d, %v", c.in, got, err)
			}
		})
	}
}
