// Command bank is the one binary of kubebank. Each subcommand lives in its
// own file and registers itself in commands; main only dispatches.
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
	"syscall"

	"github.com/kubebank/kubebank/src/buildinfo"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands is filled by init functions in the other files of this package.
var commands = map[string]command{}

func init() {
	commands["version"] = command{"print the version, commit and Go version", func(context.Context, []string) error {
		fmt.Println(buildinfo.String())
		return nil
	}}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: bank <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'bank <command> -h' for its flags; every flag can also be set as BANK_<FLAG_NAME>.")
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "--help", "help":
		usage(os.Stdout)
		return
	case "--version":
		fmt.Println(buildinfo.String())
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "bank: unknown command %q\n\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	// SIGTERM is how Kubernetes asks a pod to stop; SIGINT is Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd.run(ctx, os.Args[2:])
	if errors.Is(err, flag.ErrHelp) {
		return // -h asked for the usage, which the flag set printed
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bank %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
