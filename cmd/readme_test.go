package cmd_test

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/multiget/multiget/cmd"
)

// Every flag of --help has a row in the README's flag table.
func TestReadmeFlagTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	root := cmd.NewRootCmd(&cmd.IOStreams{}, nil)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	root.Flags().VisitAll(func(f *pflag.Flag) {
		row := "| `--" + f.Name
		if f.Shorthand != "" {
			row = "| `-" + f.Shorthand + ", --" + f.Name
		}
		if !strings.Contains(readme, row) {
			t.Errorf("README flag table has no row starting %q", row)
		}
	})
}
