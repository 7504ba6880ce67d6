// Package cli gives every subcommand the same flag conventions: each
// --flag-name can also be set with the environment variable
// BANK_FLAG_NAME (command-line flags win), as Kubernetes manifests set env.
package cli

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/kubebank/kubebank/src/buildinfo"
	"github.com/kubebank/kubebank/src/requestid"
)

// EnvName is the environment variable that backs a flag.
func EnvName(flagName string) string {
	return "BANK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment variable. It returns an error naming the
// variable when a value does not parse.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of bank %s (every flag can also be set as BANK_<FLAG_NAME>):\n", fs.Name())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", EnvName(f.Name), v, e)
			}
		}
	})
	return err
}

// Logger returns the process logger: JSON on stderr at the given level.
func Logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	log := slog.New(requestid.LogHandler{Handler: slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})})
	// The first line says which build this is.
	log.Info("bank starting", buildinfo.Attrs()...)
	return log
}
