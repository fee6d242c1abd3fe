package cmd

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envConfig names a config file when --config is not given.
const envConfig = "MULTIGET_CONFIG"

// notInConfig are flags that make no sense in a file.
var notInConfig = map[string]bool{"config": true, "help": true, "version": true}

// applyConfig reads a config file, so a team can check its download
// settings into a repository:
//
//	# comments and blank lines are ignored
//	parallel = 16
//	header = X-Team: infra      (repeatable flags: one line per value)
//	insecure                    (a bool flag alone means true)
//
// Names are the long flag names (a leading "--" is allowed); the value is
// the rest of the line after "=", trimmed, as it would follow the flag.
// A flag given on the command line wins: the file's lines for it are
// skipped (for a repeatable flag, all of them, so the command line can
// replace a list). Unknown names and bad values are usage errors naming
// FILE:LINE.
func applyConfig(c *cobra.Command, path string) error {
	f, err := os.Open(path)
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
		name, value, hasValue := strings.Cut(line, "=")
		name = strings.TrimPrefix(strings.TrimSpace(name), "--")
		value = strings.TrimSpace(value)
		fl := flags.Lookup(name)
		if fl == nil || notInConfig[name] {
			return flagErrorf("%s:%d: unknown option %q (use the long flag names of multiget --help, without --)", path, n, name)
		}
		if !hasValue {
			if fl.Value.Type() != "bool" {
				return flagErrorf("%s:%d: %s needs a value: write %s = VALUE", path, n, name, name)
			}
			value = "true"
		}
		if fromArgs[canonicalFlag(name)] {
			continue
		}
		if err := flags.Set(name, value); err != nil {
			return flagErrorf("%s:%d: bad value for %s: %v", path, n, name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return &InputError{Err: fmt.Errorf("cannot read config %s: %v", path, err)}
	}
	return nil
}

// configPath is --config, else $MULTIGET_CONFIG, else "" (no file).
func configPath(o *Options) string {
	if o.Config != "" || o.getenv == nil {
		return o.Config
	}
	return o.getenv(envConfig)
}
