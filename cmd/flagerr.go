package cmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagError rewrites pflag's parse errors in the user's words: each names
// the flag, the value given and the form expected, never a Go function
// (pflag's own text says "strconv.ParseInt: parsing ...").
func flagError(c *cobra.Command, err error) error {
	var inv *pflag.InvalidValueError
	var req *pflag.ValueRequiredError
	var nx *pflag.NotExistError
	switch {
	case errors.As(err, &inv):
		f := inv.GetFlag()
		alone := "--" + f.Name
		set := func(v string) string { return alone + " " + v }
		if f.Value.Type() == "bool" {
			set = func(v string) string { return alone + "=" + v }
		}
		err = fmt.Errorf("%s: %s", flagNames(f), badValue(f, inv.GetValue(), errors.Unwrap(inv), alone, set))
	case errors.As(err, &req):
		f := req.GetFlag()
		typed := "--" + f.Name
		if req.GetSpecifiedShortnames() != "" {
			typed = "-" + f.Shorthand
		}
		err = fmt.Errorf("%s needs a value: write %s %s", flagNames(f), typed, placeholder(f))
	case errors.As(err, &nx):
		err = unknownFlag(c.Flags(), nx, err)
	}
	return &FlagError{Err: err}
}

// badValue says why value does not suit f and what to write instead.
// alone is the flag as written alone ("--tree" on the command line, "tree"
// in a config file) and set(v) how it is given the value v.
func badValue(f *pflag.Flag, value string, cause error, alone string, set func(string) string) string {
	var num *strconv.NumError
	switch {
	case f.Value.Type() == "bool":
		return fmt.Sprintf("%q is not true or false: write %s alone to turn it on, or %s", value, alone, set("false"))
	case errors.As(cause, &num) && num.Err == strconv.ErrRange:
		return fmt.Sprintf("%q is too large", value)
	case errors.As(cause, &num):
		return fmt.Sprintf("%q is not a whole number: write e.g. %s", value, set(f.DefValue))
	case cause != nil:
		return cause.Error()
	}
	return fmt.Sprintf("%q is not a valid value", value)
}

// flagNames is "-j/--parallel", or "--tree" for a flag without a letter.
func flagNames(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// unknownFlag adds the nearest long flag name to pflag's "unknown flag",
// as git and cargo do, and catches a long name typed with one dash.
func unknownFlag(fs *pflag.FlagSet, nx *pflag.NotExistError, err error) error {
	typed := nx.GetSpecifiedName()
	if group := nx.GetSpecifiedShortnames(); group != "" {
		// "-parallel" is read as the letters p, a, r, ...
		if fs.Lookup(group) != nil {
			return fmt.Errorf("unknown flag -%s: did you mean --%s? (long flags take two dashes)", group, group)
		}
		if s := nearestFlag(fs, group); len(group) > 2 && s != "" {
			return fmt.Errorf("unknown flag -%s: did you mean --%s?", group, s)
		}
		return err
	}
	if s := nearestFlag(fs, typed); s != "" {
		return fmt.Errorf("unknown flag --%s: did you mean --%s?", typed, s)
	}
	return err
}

// nearestFlag is the long flag name closest to name by edit distance, if
// one is close enough to be a typo of it (at most 1 edit for short names,
// 2 for longer ones); "" when none is.
func nearestFlag(fs *pflag.FlagSet, name string) string {
	name, _, _ = strings.Cut(name, "=")
	limit := 1
	if len(name) > 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes: flag names
// are ASCII), with an adjacent swap counting as one edit ("paralle" and
// "paralel" are both one typo away from "parallel").
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// placeholder is the word help shows for f's value: the one in backquotes
// in its usage (N, DUR, FILE, ...).
func placeholder(f *pflag.Flag) string {
	name, _ := pflag.UnquoteUsage(f)
	return name
}
