package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/schedule"
)

func init() {
	commands["jobs"] = command{"operate background jobs: list, run <job> [--date YYYY-MM-DD] [--inline]", runJobsCmd}
}

func runJobsCmd(ctx context.Context, args []string) error {
	sub, job, args, err := jobsSubcommand(args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("jobs "+sub, flag.ContinueOnError)
	var f jobFlags
	f.register(fs, false)
	date := fs.String("date", "", "business date YYYY-MM-DD (default: the date the schedule would use now)")
	inline := fs.Bool("inline", false, "run here and wait, instead of enqueueing for the workers")
	operator := operatorFlag(fs)
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
		return printJobStats(ctx, pool, f.namespace)
	}
	if _, ok := schedule.Default[job]; !ok {
		return fmt.Errorf("unknown job %q; periodic jobs: %v", job, schedule.PeriodicNames())
	}
	args2, err := runArgs(job, *date, loc)
	if err != nil {
		return err
	}
	log := cli.Logger(f.logLevel)
	l := ledger.New(pool)
	if err := l.EnsureSystemAccounts(ctx); err != nil {
		return err
	}
	r := newRunner(pool, l, f.namespace, false, jobs.Options{Location: loc, Inline: *inline, Log: log})
	// A job run by hand is an operator's action: on the audit trail
	// before it runs (a job writes no entries of its own), with its
	// arguments.
	rec := operatorRecord(*operator, audit.JobRun, job)
	rec.Detail = map[string]string{"inline": fmt.Sprint(*inline)}
	for k, v := range args2 {
		rec.Detail[k] = fmt.Sprint(v)
	}
	if _, err := audit.New(pool).Append(ctx, *rec); err != nil {
		return err
	}
	return runJob(ctx, r, job, args2, *inline)
}

// jobsSubcommand splits `bank jobs` arguments into the subcommand (list,
// run), the job of run, and the flags.
func jobsSubcommand(args []string) (sub, job string, flags []string, err error) {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run") {
		return "", "", nil, fmt.Errorf("usage: bank jobs list | bank jobs run <job> [--date YYYY-MM-DD] [--inline]")
	}
	sub, flags = args[0], args[1:]
	if sub == "run" {
		if len(flags) == 0 || flags[0] == "" || flags[0][0] == '-' {
			return "", "", nil, fmt.Errorf("usage: bank jobs run <job> [--date YYYY-MM-DD] [--inline]; jobs: %v", schedule.PeriodicNames())
		}
		job, flags = flags[0], flags[1:]
	}
	return sub, job, flags, nil
}

// runJob runs job with args here (inline) or enqueues it for the workers,
// and prints what it did as JSON.
func runJob(ctx context.Context, r *jobs.Runner, job string, args map[string]any, inline bool) error {
	out := json.NewEncoder(os.Stdout)
	if inline {
		start := time.Now()
		if err := r.Handle(ctx, job, args); err != nil {
			return err
		}
		return out.Encode(map[string]any{"job": job, "args": args, "ran": "inline", "duration": time.Since(start).String()})
	}
	id, err := r.Enqueue(job, args)
	if err != nil {
		return err
	}
	return out.Encode(map[string]any{"job": job, "args": args, "enqueued": id})
}

// printJobStats prints `bank jobs list`: each job's schedule and queues.
func printJobStats(ctx context.Context, pool *redis.Pool, namespace string) error {
	stats, err := jobs.Stats(ctx, pool, namespace)
	if err != nil {
		return err
	}
	fmt.Printf("%-26s %-14s %7s %8s %9s %5s\n", "JOB", "SCHEDULE", "QUEUED", "RETRYING", "SCHEDULED", "DEAD")
	for _, s := range stats {
		spec := schedule.Default[s.Job]
		if spec == "" {
			spec = "(on demand)"
		}
		fmt.Printf("%-26s %-14s %7d %8d %9d %5d\n", s.Job, spec, s.Queued, s.Retrying, s.Scheduled, s.Dead)
	}
	return nil
}

// runArgs returns the arguments of `bank jobs run job`: for --date when
// given, else for the slot the schedule would use now.
func runArgs(job, date string, loc *time.Location) (map[string]any, error) {
	if date == "" {
		return jobs.ArgsForSlot(job, time.Now().In(loc)), nil
	}
	d, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		return nil, fmt.Errorf("--date %q: want YYYY-MM-DD", date)
	}
	// Interest is paid on a day's closing balance and a statement is
	// stored once: both only for periods that are over.
	var end time.Time
	switch job {
	case jobs.InterestAccrual:
		end = d.AddDate(0, 0, 1)
	case jobs.MonthlyStatements:
		end = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, loc)
	}
	if !end.IsZero() && time.Now().Before(end) {
		return nil, fmt.Errorf("--date %s: %s only runs for periods that have ended; that one ends %s", date, job, end.Format(time.RFC3339))
	}
	return jobs.ArgsForDate(job, d), nil
}
