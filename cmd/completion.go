package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// completionOptions is what "multiget completion SHELL" is told.
type completionOptions struct {
	Shell          string
	NoDescriptions bool
}

var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// newCompletionCmd is cobra's completion generator under multiget's own
// command, so its errors, exit codes and help look like the rest of
// multiget. The root command has no other subcommand, and cobra adds its
// default one only to roots that do.
func newCompletionCmd(io *IOStreams) *cobra.Command {
	opts := &completionOptions{}
	c := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the completion script for SHELL on stdout. scripts/install puts the
bash, zsh and fish ones where those shells look; by hand:

  multiget completion bash > ~/.local/share/bash-completion/completions/multiget
  multiget completion zsh  > "${fpath[1]}/_multiget"
  multiget completion fish > ~/.config/fish/completions/multiget.fish
  multiget completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             completionShells,
		Args:                  argsError(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		DisableFlagsInUseLine: true,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Shell = args[0]
			return runCompletion(c.Root(), io, opts)
		},
	}
	c.Flags().BoolVar(&opts.NoDescriptions, "no-descriptions", false, "leave flag descriptions out of the completions")
	return c
}

func runCompletion(root *cobra.Command, io *IOStreams, o *completionOptions) error {
	desc := !o.NoDescriptions
	switch o.Shell {
	case "bash":
		return root.GenBashCompletionV2(io.Out, desc)
	case "zsh":
		if desc {
			return root.GenZshCompletion(io.Out)
		}
		return root.GenZshCompletionNoDesc(io.Out)
	case "fish":
		return root.GenFishCompletion(io.Out, desc)
	case "powershell":
		if desc {
			return root.GenPowerShellCompletionWithDesc(io.Out)
		}
		return root.GenPowerShellCompletion(io.Out)
	}
	return flagErrorf("completion: unknown shell %q (one of bash, zsh, fish, powershell)", o.Shell)
}

// argsError makes cobra's positional-argument errors of subcommands usage
// errors (exit 2), like flag errors.
func argsError(args cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := args(c, a); err != nil {
			return &FlagError{Err: fmt.Errorf("%s: %v", c.CommandPath(), err)}
		}
		return nil
	}
}

// completeFlagValues makes every flag's value complete to what it can be:
// file names for a FILE, directories for a DIR, and nothing for numbers,
// durations, sizes, URLs and the rest, which a shell would otherwise
// complete to file names. It runs after every flag is defined and leaves
// flags with a completion of their own (--progress, --proto) alone.
func completeFlagValues(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			return
		}
		if _, ok := c.GetFlagCompletionFunc(f.Name); ok {
			return
		}
		switch placeholder(f) {
		case "FILE": // cobra's default: file names
		case "DIR":
			_ = c.MarkFlagDirname(f.Name)
		default:
			_ = c.RegisterFlagCompletionFunc(f.Name, cobra.NoFileCompletions)
		}
	})
}

// plainUsages drops the placeholders' backquotes from the flag usages
// that cobra's completion request (__complete) shows as descriptions; the
// shells print them as they are.
func plainUsages(c *cobra.Command, args []string) {
	if len(args) == 0 || (args[0] != cobra.ShellCompRequestCmd && args[0] != cobra.ShellCompNoDescRequestCmd) {
		return
	}
	c.Flags().VisitAll(func(f *pflag.Flag) {
		_, f.Usage = pflag.UnquoteUsage(f)
	})
}
