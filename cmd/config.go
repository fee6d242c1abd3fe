package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envConfig names a config file when --config is not given.
const envConfig = "MULTIGET_CONFIG"

// notInConfig are flags that make no sense in a file.
var notInConfig = map[string]bool{"config": true, "no-config": true, "help": true, "version": true}

// applyConfig reads a config file, so a team can check its download
// settings into a repository:
//
//	# comments and blank lines are ignored
//	parallel = 16               # and so is a "#" after a blank
//	header = X-Team: infra      (repeatable flags: one line per value)
//	header = "X-Tag: a #1"      (quoted: taken as written)
//	insecure                    (a bool flag alone means true)
//
// Names are the long flag names (a leading "--" is allowed); the value is
// the rest of the line after "=", trimmed, up to a comment
// (splitConfigLine), as it would follow the flag.
// A flag given on the command line wins: the file's lines for it are
// skipped (for a repeatable flag, all of them, so the command line can
// replace a list). Unknown names and bad values are usage errors naming
// FILE:LINE.
func applyConfig(c *cobra.Command, path string, must bool) error {
	f, err := os.Open(path)
	// A default that is not there, also because a directory on its way
	// is a file, is no error.
	if err != nil && !must && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
		return nil
	}
	if err != nil {
		return &InputError{Err: fmt.Errorf("cannot read config %s: %v", path, unwrapPath(err))}
	}
	defer f.Close()
	flags := c.Flags()
	fromArgs := map[string]bool{}
	flags.Visit(func(fl *pflag.Flag) { fromArgs[canonicalFlag(fl.Name)] = true })

	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, hasValue, err := splitConfigLine(line)
		if err != nil {
			return flagErrorf("%s:%d: %v", path, n, err)
		}
		fl := flags.Lookup(name)
		if fl == nil || notInConfig[name] {
			if s := nearestFlag(flags, name); s != "" && !notInConfig[s] {
				return flagErrorf("%s:%d: unknown option %q: did you mean %s?", path, n, name, s)
			}
			return flagErrorf("%s:%d: unknown option %q (use the long flag names of multiget --help, without --)", path, n, name)
		}
		if !hasValue {
			if fl.Value.Type() != "bool" {
				return flagErrorf("%s:%d: %s needs a value: write %s = %s", path, n, name, name, placeholder(fl))
			}
			value = "true"
		}
		if fromArgs[canonicalFlag(name)] {
			continue
		}
		if err := flags.Set(name, value); err != nil {
			set := func(v string) string { return name + " = " + v }
			return flagErrorf("%s:%d: %s: %s", path, n, name, badValue(fl, value, errors.Unwrap(err), name, set))
		}
	}
	if err := sc.Err(); err != nil {
		return &InputError{Err: fmt.Errorf("cannot read config %s: %v", path, err)}
	}
	return nil
}

// splitConfigLine reads "name = value  # comment". A comment starts at a
// "#" that follows a blank; a "#" inside a word (a URL's fragment,
// "a#b") is part of the value. A value in double or single quotes is
// taken as written between them, "#" and outer blanks included, with no
// escapes; only blanks or a comment may follow its closing quote.
func splitConfigLine(line string) (name, value string, hasValue bool, err error) {
	eq := strings.IndexByte(line, '=')
	if c := commentStart(line); c >= 0 && (eq < 0 || c < eq) {
		line, eq = strings.TrimSpace(line[:c]), -1
	}
	if eq < 0 {
		return strings.TrimPrefix(line, "--"), "", false, nil
	}
	name = strings.TrimPrefix(strings.TrimSpace(line[:eq]), "--")
	value = strings.TrimSpace(line[eq+1:])
	if value != "" && (value[0] == '"' || value[0] == '\'') {
		end := strings.IndexByte(value[1:], value[0])
		if end < 0 {
			return "", "", false, fmt.Errorf("%s: the value has no closing %c", name, value[0])
		}
		rest := strings.TrimSpace(value[end+2:])
		if rest != "" && rest[0] != '#' {
			return "", "", false, fmt.Errorf("%s: text after the closing quote: put the whole value in the quotes", name)
		}
		return name, value[1 : end+1], true, nil
	}
	if c := commentStart(value); c >= 0 {
		value = strings.TrimSpace(value[:c])
	}
	return name, value, true, nil
}

// commentStart is the index of the first "#" that follows a blank in s,
// or -1.
func commentStart(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// configPath is the config file to read: --config, else $MULTIGET_CONFIG,
// else the XDG default (defaultConfig); none with --no-config. must is
// false for the default, which is read only when it exists.
func configPath(o *Options) (path string, must bool) {
	switch {
	case o.NoConfig:
		return "", false
	case o.Config != "":
		return o.Config, true
	case o.getenv == nil:
		return "", false
	case o.getenv(envConfig) != "":
		return o.getenv(envConfig), true
	}
	return defaultConfig(o.getenv), false
}

// defaultConfig is $XDG_CONFIG_HOME/multiget/config, else
// $HOME/.config/multiget/config, as the XDG Base Directory rules say
// (a relative XDG_CONFIG_HOME is ignored); "" with neither set.
func defaultConfig(getenv func(string) string) string {
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "multiget", "config")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "multiget", "config")
	}
	return ""
}
