package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/loadgen"
)

func init() {
	commands["loadgen"] = command{"drive a running API with concurrent transfers and print throughput and latency", runLoadgen}
}

func runLoadgen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	cfg := loadgen.Config{}
	fs.StringVar(&cfg.APIURL, "api-url", "http://localhost:8000", "base URL of the API")
	fs.StringVar(&cfg.TellerUser, "teller-user", "teller", "teller login used to fund the test accounts")
	fs.StringVar(&cfg.TellerPassword, "teller-password", "teller-demo-password", "teller password")
	fs.IntVar(&cfg.Customers, "customers", 20, "customers (one account each)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "parallel clients")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send transfers")
	fs.IntVar(&cfg.Requests, "requests", 0, "stop after this many transfers instead (0: use --duration)")
	fs.Int64Var(&cfg.Funding, "funding", 100_000_000, "minor units deposited into each account")
	fs.StringVar(&cfg.Currency, "currency", "EUR", "currency of the test accounts")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Println(res)
	return nil
}
