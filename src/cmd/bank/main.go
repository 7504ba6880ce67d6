// Command bank is the one binary of kubebank. Each subcommand lives in its
// own file and registers itself in commands; main only dispatches.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands is filled by init functions in the other files of this package.
var commands = map[string]command{}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bank <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'bank <command> -h' for its flags; every flag can also be set as BANK_<FLAG_NAME>.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "bank: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	// SIGTERM is how Kubernetes asks a pod to stop; SIGINT is Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "bank %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
