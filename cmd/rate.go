package cmd

import (
	"math"
	"strings"
)

// parseRate reads a speed like curl's --limit-rate: bytes per second, with
// an optional K, M or G suffix (1024 multiples, either case, an optional
// trailing "B" or "/s"). "" and "0" mean no cap.
func parseRate(flag, s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	if t == "" {
		return 0, nil
	}
	b, err := parseSize(t)
	if err != nil {
		return 0, flagErrorf("%s %q: write bytes per second, e.g. 500K, 2M or 100000", flag, s)
	}
	if b >= math.MaxInt32<<20 {
		return 0, flagErrorf("%s %q is too large", flag, s)
	}
	if b == 0 && strings.Trim(t, "0.kKmMgGiB") != "" {
		return 0, flagErrorf("%s %q is below 1 byte per second", flag, s)
	}
	return b, nil
}
