package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/schedule"
	"github.com/kubebank/kubebank/src/service"
)

func init() {
	commands["scheduler"] = command{"enqueue the periodic jobs (metrics/health on 9090)", runSchedulerCmd}
}

// schedulerOptions configure runScheduler; `bank dev` fills them directly.
type schedulerOptions struct {
	Namespace string
	// Location is the bank's zone; the process's time.Local must already
	// be set to it (see useBankZone).
	Location *time.Location
	// Schedule overrides the defaults: "job=cron;job=cron", "off" disables.
	Schedule string
	CatchUp  time.Duration
	// Registry receives the scheduler's collector; nil registers nothing.
	// The queue and ledger gauges are the worker's (one process kind per
	// series).
	Registry prometheus.Registerer
}

// useBankZone makes loc the process's time.Local. gocraft/work's periodic
// enqueuer computes cron slots in time.Local and robfig/cron v1 has no
// per-spec zone, so this is what makes "00:05" mean 00:05 in the bank's
// zone (across daylight-saving changes too, which converting the specs to
// UTC would get wrong). Call it before starting any goroutine: assigning
// time.Local while another goroutine reads it is a data race. Side
// effect: the process's logs show times in the bank's zone.
func useBankZone(loc *time.Location) { time.Local = loc }

// runScheduler runs gocraft/work's periodic enqueuer until ctx is done.
// It only enqueues: workers execute.
func runScheduler(ctx context.Context, log *slog.Logger, pool *redis.Pool, opts schedulerOptions) error {
	entries, err := schedule.Parse(opts.Schedule)
	if err != nil {
		return err
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	s, err := schedule.NewScheduler(pool, opts.Namespace, entries, opts.Location, log)
	if err != nil {
		return err
	}
	s.CatchUp = opts.CatchUp
	if opts.Registry != nil {
		opts.Registry.MustRegister(schedule.NewCollector(pool, opts.Namespace, entries))
	}
	for _, e := range entries {
		log.Info("schedule", "job", e.Job, "cron", e.Spec, "timezone", opts.Location.String())
	}
	if !retryUntilUp(ctx, log, func() error { return s.Start(ctx) }) {
		return nil
	}
	<-ctx.Done()
	s.Stop()
	log.Info("scheduler stopped")
	return nil
}

func runSchedulerCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	var f jobFlags
	f.register(fs, true)
	schedule := fs.String("schedule", "", `override job schedules: "interest-accrual=0 5 0 * * *;hold-expiry=off" (cron with seconds first: sec min hour dom month dow; a 5-field spec gets second 0)`)
	catchUp := fs.Duration("catch-up", time.Hour, "on start, enqueue the latest slot of each job missed within this window (0: none)")
	pprofAddr := pprofFlag(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := f.redis.Validate(); err != nil {
		return err
	}
	loc, err := f.location()
	if err != nil {
		return err
	}
	useBankZone(loc) // first, before any goroutine
	log := cli.Logger(f.logLevel).With("component", "scheduler")
	if err := service.ServePprof(ctx, *pprofAddr, log); err != nil {
		return err
	}
	pool := f.pool(8)
	defer pool.Close()
	return runWithProbes(ctx, log, pool, f.metricsAddr, func(reg prometheus.Registerer) error {
		return runScheduler(ctx, log, pool, schedulerOptions{Namespace: f.namespace, Location: loc, Schedule: *schedule, CatchUp: *catchUp, Registry: reg})
	})
}
