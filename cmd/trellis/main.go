// Command trellis runs devp2p nodes and tools: a node, a local devnet, discovery
// listeners, RLPx pings, key and record tools.
//
// Each subcommand lives in a file of its own and registers itself with
// register; the dispatcher matches the longest command name (which may be
// several words, as in "rlpx ping") against the arguments.
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
)

// command is one subcommand of trellis.
type command struct {
	name    string // space-separated words, e.g. "rlpx ping"
	args    string // synopsis of the arguments after the flags, e.g. "<enode>"
	summary string // one line for the command list
	// flags declares the command's flags on fs and returns the function that
	// runs it once fs has parsed the arguments. Keeping flag declaration
	// and execution together lets --help show every flag with its default.
	flags func(fs *flag.FlagSet) func(ctx context.Context, env *cmdEnv) error
}

// cmdEnv is what a running command sees of the process.
type cmdEnv struct {
	args   []string // positional arguments after the flags
	stdout io.Writer
	stderr io.Writer
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error in the command line; it exits with status 2.
var errUsage = errors.New("usage error")

// usageErrorf reports a command-line mistake with a hint of what to do.
func usageErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

func main() {
	ctx, stop := signalContext()
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// signalContext returns a context cancelled by the first SIGINT or SIGTERM.
// A second signal exits at once, for a shutdown that hangs.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-sigc:
			fmt.Fprintln(os.Stderr, "shutting down (signal again to force exit)")
			cancel()
		case <-ctx.Done():
			return
		}
		<-sigc
		fmt.Fprintln(os.Stderr, "forced exit")
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(sigc); cancel() }
}

// run executes the command line args and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printCommands(stdout)
		return 0
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "trellis: unknown command %q\n\n", strings.Join(args, " "))
		printCommands(stderr)
		return 2
	}
	fs := flag.NewFlagSet("trellis "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The flag package prints its own error line; help is printed here,
	// once, to stdout when asked for.
	fs.Usage = func() {}
	exec := cmd.flags(fs)
	if err := fs.Parse(interleaved(fs, rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(stdout, cmd, fs)
			return 0
		}
		fmt.Fprintf(stderr, "run 'trellis %s --help' for usage\n", cmd.name)
		return 2
	}
	env := &cmdEnv{args: fs.Args(), stdout: stdout, stderr: stderr}
	if err := exec(ctx, env); err != nil {
		fmt.Fprintf(stderr, "trellis %s: %v\n", cmd.name, err)
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "run 'trellis %s --help' for usage\n", cmd.name)
			return 2
		}
		return 1
	}
	return 0
}

// lookup finds the command with the longest name that prefixes args.
func lookup(args []string) (*command, []string) {
	for n := len(args); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, nil
}

// interleaved moves positional arguments after the flags, so that both
// "trellis rlpx ping --timeout 3s <enode>" and "trellis rlpx ping <enode>
// --timeout 3s" work. A "--" ends flag parsing as usual.
func interleaved(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that is not boolean takes the next argument as its value.
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), positional...)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func printCommands(w io.Writer) {
	fmt.Fprintln(w, "trellis: an Ethereum devp2p node and toolbox")
	fmt.Fprintln(w, "\nUsage: trellis <command> [flags] [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := commands[name]
		fmt.Fprintf(w, "  %-22s %s\n", name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'trellis <command> --help' for the flags of a command.")
}

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: trellis %s [flags] %s\n\n%s\n", c.name, c.args, c.summary)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
