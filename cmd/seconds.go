package cmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// seconds is a duration flag that also takes bare seconds, as curl, wget
// and aria2c do: "10" and "2.5" are seconds, "500ms" and "2m" Go
// durations. Negative values are left to the options' own checks.
type seconds struct{ d *time.Duration }

func newSeconds(p *time.Duration, def time.Duration) *seconds {
	*p = def
	return &seconds{p}
}

func (s *seconds) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil && isDecimal(v) {
		if math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64)/float64(time.Second) {
			return fmt.Errorf("%q seconds is out of range", v)
		}
		*s.d = time.Duration(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither seconds (30, 2.5) nor a duration (500ms, 2m)", v)
	}
	*s.d = d
	return nil
}

// isDecimal: only digits, one dot and a leading sign, so that "inf",
// "1e3" and "0x10" are not taken for seconds.
func isDecimal(v string) bool {
	dot := false
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		case (c == '-' || c == '+') && i == 0:
		default:
			return false
		}
	}
	return v != ""
}

// String is the value as help shows its default; zero is "0", which
// help leaves out, as it does for durations.
func (s *seconds) String() string {
	if *s.d == 0 {
		return "0"
	}
	// "1m" rather than Go's "1m0s", "1h" rather than "1h0m0s".
	v := s.d.String()
	for _, zero := range []string{"0s", "0m"} {
		if t := strings.TrimSuffix(v, zero); t != v && t != "" && (t[len(t)-1] == 'm' || t[len(t)-1] == 'h') {
			v = t
		}
	}
	return v
}

func (s *seconds) Type() string { return "duration" }
