// Command tinkex manages what a Tinker server keeps between runs, from a
// terminal: checkpoints, training runs and sessions, as the Python SDK's
// `tinker` CLI does, plus `tinkex tree` to see the client's supervision
// tree and limiter.
//
//	go install github.com/tinkex-go/tinkex/cmd/tinkex@latest
//	export TINKER_API_KEY=tml-...
//	tinkex checkpoint list
//	tinkex checkpoint download tinker://<run>/weights/<name>
//	tinkex run list --json
//
// Every command takes --api-key (default $TINKER_API_KEY), --base-url
// (default $TINKER_BASE_URL, else the production service), --json (one JSON
// document on stdout instead of a table) and --help. Exit codes: 0 done,
// 1 the server or the network refused the operation, 2 bad usage or input
// (unknown command, bad flag, missing or malformed key, malformed
// tinker:// path). Errors are one line on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/tinkex-go/tinkex/types"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cli{
		getenv: os.Getenv,
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		tty:    term.IsTerminal(int(os.Stdout.Fd())),
		ttyIn:  term.IsTerminal(int(os.Stdin.Fd())),
	}
	code := env.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the operation was refused or failed
	exitUsage   = 2 // bad command line or input
	programName = "tinkex"
)

// cli is one invocation: its environment and streams, injected so tests
// run commands in process.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	tty    bool // stdout is a terminal: progress bars
	ttyIn  bool // stdin is a terminal: confirmation prompts

	common common
}

// usageError is bad input; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command is one leaf command.
type command struct {
	name, args, summary string
	// help is printed under the usage line by --help.
	help string
	// flags registers the command's own flags.
	flags func(fs *flag.FlagSet)
	// run does the work with the positional arguments.
	run func(ctx context.Context, c *cli, args []string) error
}

// group is a noun with its commands (checkpoint, run, session, billing).
type group struct {
	name, summary string
	commands      []*command
}

func (c *cli) groups() []*group {
	return []*group{c.checkpointGroup(), c.runGroup(), c.sessionGroup(), c.billingGroup()}
}

func (c *cli) topCommands() []*command {
	return []*command{c.versionCommand(), c.treeCommand()}
}

// run parses args, runs the command and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	err := c.dispatch(ctx, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case isUsage(err):
		c.fail(err)
		return exitUsage
	default:
		c.fail(err)
		return exitFailed
	}
}

func isUsage(err error) bool {
	var ue *usageError
	return errors.As(err, &ue) || errors.Is(err, types.ErrValidation) && !isRemote(err)
}

// isRemote reports a validation error about something the server sent
// (an undecodable response), which is a failure, not bad input.
func isRemote(err error) bool {
	var te *types.Error
	return errors.As(err, &te) && te.StatusCode != 0
}

// fail prints err as one line (clean: never with the key or a control
// character in it).
func (c *cli) fail(err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, programName+": ") {
		msg = programName + ": " + msg
	}
	fmt.Fprintln(c.stderr, c.clean(strings.ReplaceAll(msg, "\n", " ")))
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	root := flag.NewFlagSet(programName, flag.ContinueOnError)
	root.SetOutput(io.Discard)
	c.common.register(root)
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.stdout)
			return err
		}
		return usagef("%v (see tinkex --help)", err)
	}
	rest := root.Args()
	if len(rest) == 0 {
		return usagef("no command given (see tinkex --help)")
	}
	if rest[0] == "help" {
		c.usage(c.stdout)
		return nil
	}
	for _, cmd := range c.topCommands() {
		if cmd.name == rest[0] {
			return c.runCommand(ctx, programName, cmd, rest[1:])
		}
	}
	for _, g := range c.groups() {
		if g.name != rest[0] {
			continue
		}
		if len(rest) < 2 {
			return usagef("%s: no command given (one of %s; see tinkex %s --help)", g.name, commandNames(g.commands), g.name)
		}
		if rest[1] == "--help" || rest[1] == "-h" || rest[1] == "help" {
			c.groupUsage(c.stdout, g)
			return nil
		}
		for _, cmd := range g.commands {
			if cmd.name == rest[1] {
				return c.runCommand(ctx, programName+" "+g.name, cmd, rest[2:])
			}
		}
		return usagef("%s: unknown command %q (one of %s)", g.name, rest[1], commandNames(g.commands))
	}
	return usagef("unknown command %q (see tinkex --help)", rest[0])
}

func commandNames(cmds []*command) string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// runCommand parses a leaf command's flags (anywhere among its arguments)
// and runs it.
func (c *cli) runCommand(ctx context.Context, prefix string, cmd *command, args []string) error {
	fs := flag.NewFlagSet(prefix+" "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.common.register(fs)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.commandUsage(c.stdout, prefix, cmd, fs)
		return err
	}
	if err != nil {
		return usagef("%s %s: %v (see --help)", prefix, cmd.name, err)
	}
	return cmd.run(ctx, c, pos)
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, which it returns in order; "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		dashdash := len(args) > 0 && args[0] == "--"
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if dashdash || len(args) == 0 {
			return append(pos, args...), nil
		}
		// fs.Parse stopped at a positional argument: keep it, go on.
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, `Usage: tinkex [--api-key KEY] [--base-url URL] [--json] <command> [flags] [args]

Manage the checkpoints, training runs and sessions a Tinker server keeps, and see billed usage.

Commands:
`)
	var lines []string
	for _, g := range c.groups() {
		for _, cmd := range g.commands {
			lines = append(lines, fmt.Sprintf("  %-40s %s", g.name+" "+cmd.name+" "+cmd.args, cmd.summary))
		}
	}
	for _, cmd := range c.topCommands() {
		lines = append(lines, fmt.Sprintf("  %-40s %s", cmd.name+" "+cmd.args, cmd.summary))
	}
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	fmt.Fprint(w, `
Flags of every command:
  --api-key KEY    API key (default $TINKER_API_KEY)
  --base-url URL   server (default $TINKER_BASE_URL, else `+types.DefaultBaseURL+`)
  --json           print one JSON document on stdout instead of a table
  --max-retries N  HTTP retries per request (default 3)
  --retry-budget D how long a failed call is sent again after its HTTP
                   retries, e.g. 5m as the Python SDK (default 0: not at all)

Run "tinkex <command> --help" for a command's flags. Exit codes: 0 done,
1 the operation failed, 2 bad usage or input.
`)
}

func (c *cli) groupUsage(w io.Writer, g *group) {
	fmt.Fprintf(w, "Usage: tinkex %s <command> [flags] [args]\n\n%s\n\nCommands:\n", g.name, g.summary)
	for _, cmd := range g.commands {
		fmt.Fprintf(w, "  %-32s %s\n", cmd.name+" "+cmd.args, cmd.summary)
	}
	fmt.Fprintf(w, "\nRun \"tinkex %s <command> --help\" for a command's flags.\n", g.name)
}

func (c *cli) commandUsage(w io.Writer, prefix string, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s [flags] %s\n\n%s\n", prefix, cmd.name, cmd.args, cmd.summary)
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.help))
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
