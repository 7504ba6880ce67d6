package main

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/redispool"
)

func init() {
	commands["scheduler"] = command{"enqueue the periodic jobs (metrics/health on 9090)", runSchedulerCmd}
}

// schedulerOptions configure runScheduler; `bank dev` fills them directly.
type schedulerOptions struct {
	Namespace string
	Location  *time.Location
	// Schedule overrides the defaults: "job=cron;job=cron", "off" disables.
	Schedule string
	CatchUp  time.Duration
	// Registry receives the queue collector; nil registers nothing.
	Registry prometheus.Registerer
}

// runScheduler enqueues periodic jobs until ctx is done. It only
// enqueues: workers execute.
func runScheduler(ctx context.Context, log *slog.Logger, pool *redis.Pool, opts schedulerOptions) error {
	entries, err := jobs.ParseSchedule(opts.Schedule)
	if err != nil {
		return err
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	s := jobs.NewScheduler(pool, opts.Namespace, entries, opts.Location, log)
	if opts.CatchUp > 0 {
		s.CatchUp = opts.CatchUp
	}
	if opts.Registry != nil {
		fired := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bank_scheduler_enqueued_total", Help: "Periodic job slots this scheduler enqueued, by job name."}, []string{"job"})
		opts.Registry.MustRegister(fired, jobs.NewQueueCollector(pool, opts.Namespace))
		s.Fired = func(job string, _ time.Time) { fired.WithLabelValues(job).Inc() }
	}
	for _, e := range entries {
		log.Info("schedule", "job", e.Job, "cron", e.Spec, "timezone", opts.Location.String())
	}
	return s.Run(ctx, time.Second)
}

func runSchedulerCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	var f jobFlags
	f.register(fs, true)
	schedule := fs.String("schedule", "", `override job schedules: "interest-accrual=5 0 * * *;hold-expiry=off" (cron: min hour dom month dow, optional leading seconds field)`)
	catchUp := fs.Duration("catch-up", time.Hour, "on start, fire the latest slot missed within this window")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	loc, err := f.location()
	if err != nil {
		return err
	}
	log := cli.Logger(f.logLevel).With("component", "scheduler")
	pool := redispool.New(redispool.Options{URL: f.redisURL, Password: f.redisPassword, MaxActive: 8})
	defer pool.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	errc := make(chan error, 1)
	go func() {
		errc <- runScheduler(ctx, log, pool, schedulerOptions{Namespace: f.namespace, Location: loc, Schedule: *schedule, CatchUp: *catchUp, Registry: reg})
	}()
	if err := serveProbes(ctx, log, pool, reg, f.metricsAddr); err != nil {
		return err
	}
	return <-errc
}
