package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/service"
)

func init() {
	commands["loadgen"] = command{"drive running APIs with a mix of concurrent requests and print throughput and latency per operation", runLoadgen}
}

// urlList is a flag that may be given several times, each a URL or a
// comma-separated list of them.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*u = append(*u, s)
		}
	}
	return nil
}

func runLoadgen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	cfg := loadgen.Config{}
	var urls urlList
	fs.Var(&urls, "api-url", "base URL of an API (repeat, or separate by commas, for several replicas: round-robin; default http://localhost:8000)")
	fs.StringVar(&cfg.TellerUser, "teller-user", "teller", "teller login used to fund the test accounts")
	fs.StringVar(&cfg.TellerPassword, "teller-password", "teller-demo-password", "teller password")
	fs.IntVar(&cfg.Customers, "customers", 20, "customers (one account each)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "parallel clients")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send requests")
	fs.IntVar(&cfg.Requests, "requests", 0, "stop after this many operations instead (0: use --duration)")
	fs.Int64Var(&cfg.Funding, "funding", 100_000_000, "minor units deposited into each account")
	fs.StringVar(&cfg.Currency, "currency", "EUR", "currency of the test accounts")
	mix := fs.String("mix", "transfer=100", "operations and their weights: transfer, hold (authorise, then capture or void), balance, history")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	progress := fs.Bool("progress", true, "print a progress line every second on stderr")
	pprofAddr := pprofFlag(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := service.ServePprof(ctx, *pprofAddr, cli.Logger("warn")); err != nil {
		return err
	}
	// The load generator shares the machine with what it measures: it
	// trades memory (a few MB) for less of the CPU going to its garbage
	// collector, unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if len(urls) == 0 {
		urls = urlList{"http://localhost:8000"}
	}
	cfg.APIURLs = urls
	m, err := loadgen.ParseMix(*mix)
	if err != nil {
		return err
	}
	cfg.Mix = m
	if *progress {
		cfg.Progress = os.Stderr
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := res.JSON()
		if err != nil {
			return err
		}
		fmt.Println(string(b))
		return nil
	}
	fmt.Printf("%d clients against %s for %s, mix %s\n", cfg.Concurrency, strings.Join(cfg.APIURLs, ", "), res.Elapsed.Round(time.Millisecond), m)
	fmt.Print(res.Table())
	return nil
}
