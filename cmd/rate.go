package cmd

import (
	"math"
	"strconv"
	"strings"
)

// parseRate reads a speed like curl's --limit-rate: bytes per second, with
// an optional K, M or G suffix (1024 multiples, either case, an optional
// trailing "B" or "/s"). "" and "0" mean no cap.
func parseRate(flag, s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "B")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(t, "eExXpP") {
		return 0, flagErrorf("%s %q: write bytes per second, e.g. 500K, 2M or 100000", flag, s)
	}
	b := v * mult
	if b >= math.MaxInt32*float64(1<<20) {
		return 0, flagErrorf("%s %q is too large", flag, s)
	}
	if b > 0 && b < 1 {
		return 0, flagErrorf("%s %q is below 1 byte per second", flag, s)
	}
	return int64(b), nil
}
