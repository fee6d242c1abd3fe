package cmd

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads a byte count: a number, optionally followed by K, M, G or
// T (binary multiples, as curl and aria2 read them; a trailing "B", "iB" or
// lowercase letter is accepted too).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "i")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	// Plain decimals only: no exponents, hex, Inf or NaN.
	if err != nil || n < 0 || n*float64(mult) > 1<<62 || strings.ContainsAny(t, "eExXpPnN") {
		return 0, fmt.Errorf("%q is not a size: write e.g. 500K, 20M or 1G", s)
	}
	return int64(n * float64(mult)), nil
}
