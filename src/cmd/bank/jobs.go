package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
)

func init() {
	commands["jobs"] = command{"operate background jobs: list, run <job> [--date YYYY-MM-DD] [--inline]", runJobsCmd}
}

func runJobsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run") {
		return fmt.Errorf("usage: bank jobs list | bank jobs run <job> [--date YYYY-MM-DD] [--inline]")
	}
	sub := args[0]
	args = args[1:]
	job := ""
	if sub == "run" {
		if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
			return fmt.Errorf("usage: bank jobs run <job> [--date YYYY-MM-DD] [--inline]; jobs: %v", jobs.PeriodicNames())
		}
		job, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("jobs "+sub, flag.ContinueOnError)
	var f jobFlags
	f.register(fs, false)
	date := fs.String("date", "", "business date YYYY-MM-DD (default: the date the schedule would use now)")
	inline := fs.Bool("inline", false, "run here and wait, instead of enqueueing for the workers")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	loc, err := f.location()
	if err != nil {
		return err
	}
	pool := f.pool(8)
	defer pool.Close()
	if sub == "list" {
		stats, err := jobs.Stats(ctx, pool, f.namespace)
		if err != nil {
			return err
		}
		fmt.Printf("%-26s %-14s %7s %8s %9s %5s\n", "JOB", "SCHEDULE", "QUEUED", "RETRYING", "SCHEDULED", "DEAD")
		for _, s := range stats {
			spec := jobs.DefaultSchedule[s.Job]
			if spec == "" {
				spec = "(on demand)"
			}
			fmt.Printf("%-26s %-14s %7d %8d %9d %5d\n", s.Job, spec, s.Queued, s.Retrying, s.Scheduled, s.Dead)
		}
		return nil
	}
	if _, ok := jobs.DefaultSchedule[job]; !ok {
		return fmt.Errorf("unknown job %q; periodic jobs: %v", job, jobs.PeriodicNames())
	}
	var args2 map[string]any
	if *date == "" {
		args2 = jobs.ArgsForSlot(job, time.Now().In(loc))
	} else {
		d, err := time.ParseInLocation("2006-01-02", *date, loc)
		if err != nil {
			return fmt.Errorf("--date %q: want YYYY-MM-DD", *date)
		}
		// Interest is paid on a day's closing balance and a statement is
		// stored once: both only for periods that are over.
		end := map[string]time.Time{jobs.InterestAccrual: d.AddDate(0, 0, 1), jobs.MonthlyStatements: time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, loc)}[job]
		if !end.IsZero() && time.Now().Before(end) {
			return fmt.Errorf("--date %s: %s only runs for periods that have ended; that one ends %s", *date, job, end.Format(time.RFC3339))
		}
		args2 = jobs.ArgsForDate(job, d)
	}
	log := cli.Logger(f.logLevel)
	l := ledger.New(pool)
	if err := l.EnsureSystemAccounts(ctx); err != nil {
		return err
	}
	r := jobs.NewRunner(l, jobs.Options{Namespace: f.namespace, Location: loc, Inline: *inline, Log: log})
	out := json.NewEncoder(os.Stdout)
	if *inline {
		start := time.Now()
		if err := r.Handle(ctx, job, args2); err != nil {
			return err
		}
		return out.Encode(map[string]any{"job": job, "args": args2, "ran": "inline", "duration": time.Since(start).String()})
	}
	id, err := r.Enqueue(job, args2)
	if err != nil {
		return err
	}
	return out.Encode(map[string]any{"job": job, "args": args2, "enqueued": id})
}
