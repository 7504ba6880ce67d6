package main

import (
	"cmp"
	"context"
	"flag"
	"log/slog"
	"net/http"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/service"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
	"github.com/kubebank/kubebank/src/worker"
)

func init() {
	commands["worker"] = command{"run background jobs (gocraft/work pool; metrics/health on 9090)", runWorkerCmd}
}

// workerOptions configure runWorker; `bank dev` fills them directly.
type workerOptions struct {
	Namespace    string
	Concurrency  uint
	Location     *time.Location
	BatchSize    int
	DormantAfter time.Duration
	Grace        time.Duration // how long running jobs may finish on shutdown
	// WebhookAllowPrivate lets deliveries use http and reach
	// loopback/private addresses (`bank dev` only; see webhooks.Options).
	WebhookAllowPrivate bool
	// Ack is how many replicas confirm each posting of a job.
	Ack redispool.Ack
	// Registry receives the job metrics and the queue collector; nil
	// registers nothing (dev mode with its own /metrics may pass its own).
	Registry prometheus.Registerer
}

// runWorker runs the job handlers until ctx is done, then stops taking
// jobs and gives running ones opts.Grace to finish before handing them back.
func runWorker(ctx context.Context, log *slog.Logger, pool *redis.Pool, opts workerOptions) error {
	opts.Namespace = cmp.Or(opts.Namespace, jobs.Namespace)
	l := ledger.New(pool)
	l.Ack = opts.Ack
	if !retryUntilUp(ctx, log, func() error { return l.EnsureSystemAccounts(ctx) }) {
		return nil
	}
	var m *worker.Metrics
	var backlog *prometheus.CounterVec
	if opts.Registry != nil {
		m = worker.NewMetrics(opts.Registry)
		backlog = m.Backlog
		opts.Registry.MustRegister(jobs.NewQueueCollector(pool, l, opts.Namespace))
	}
	r := newRunner(pool, l, opts.Namespace, opts.WebhookAllowPrivate, jobs.Options{Location: opts.Location, BatchSize: opts.BatchSize,
		DormantAfter: opts.DormantAfter, Log: log, Backlog: backlog})
	w := worker.New(pool, r, worker.Options{Namespace: opts.Namespace, Concurrency: opts.Concurrency, Metrics: m})
	w.Start()
	log.Info("worker started", "namespace", opts.Namespace, "concurrency", opts.Concurrency)
	<-ctx.Done()
	log.Info("worker stopping", "grace", opts.Grace.String())
	w.Stop(opts.Grace)
	log.Info("worker stopped")
	return nil
}

// newRunner wires the job handlers to their stores and queues on pool,
// the ledger's Redis, enqueueing into namespace. allowPrivate lets
// webhooks use plain http and reach loopback/private addresses (`bank
// dev` only; see webhooks.Options).
func newRunner(pool *redis.Pool, l *ledger.Ledger, namespace string, allowPrivate bool, o jobs.Options) *jobs.Runner {
	hookOpt := webhooks.Options{AllowPrivate: allowPrivate}
	hooks := webhooks.NewStore(pool, hookOpt)
	enq := work.NewEnqueuer(cmp.Or(namespace, jobs.Namespace), pool)
	pub := delivery.NewPublisher(hooks, enq)
	o = o.WithDefaults() // the standing-order store counts days in the runner's zone
	return jobs.New(jobs.Deps{Ledger: l, Enqueuer: enq, Statements: statements.NewStore(pool), Standing: standing.NewStore(pool, l, o.Location),
		Publisher: pub, Relay: delivery.NewRelay(pool, l, pub, o.Log), Deliverer: delivery.NewDeliverer(hooks, hookOpt)}, o)
}

// jobFlags are the flags worker, scheduler and `jobs run` share.
type jobFlags struct {
	redis                                      redispool.Options
	logLevel, namespace, timezone, metricsAddr string
}

func (f *jobFlags) register(fs *flag.FlagSet, metrics bool) {
	f.redis.Flags(fs, "Redis URL")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.namespace, "namespace", jobs.Namespace, "gocraft/work key namespace (ledger keys use \"bank:\")")
	fs.StringVar(&f.timezone, "timezone", "UTC", "IANA time zone of the bank's days and months")
	if metrics {
		fs.StringVar(&f.metricsAddr, "metrics-addr", ":9090", "listen address of /healthz, /readyz and /metrics")
	}
}

func (f *jobFlags) location() (*time.Location, error) { return time.LoadLocation(f.timezone) }

// pool is the process's one pool, which gocraft/work shares. Its dials
// back off after failures: gocraft/work polls again 10ms after an error
// and prints each one, so without it a Redis outage floods the log.
func (f *jobFlags) pool(maxActive int) *redis.Pool {
	o := f.redis
	o.MaxActive = maxActive
	o.Backoff = true
	return redispool.New(o)
}

// validateRedis reports Redis flags that cannot work, before anything
// starts.
func validateRedis(o redispool.Options, ack redispool.Ack) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return ack.Validate(o)
}

// retryUntilUp calls try until it succeeds, waiting 100ms doubling to 5s
// in between: Redis may not be up yet (pods start in any order). It
// reports false when ctx ends first.
func retryUntilUp(ctx context.Context, log *slog.Logger, try func() error) bool {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := try()
		if err == nil {
			return true
		}
		log.Warn("redis not ready; retrying", "err", err.Error(), "in", wait.String())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// serveProbes runs /healthz, /readyz and /metrics until ctx is done.
func serveProbes(ctx context.Context, log *slog.Logger, pool *redis.Pool, reg *prometheus.Registry, addr string) error {
	probes := service.NewProbes(map[string]service.Check{"redis": func(ctx context.Context) error { return redispool.Ping(ctx, pool) }})
	mux := http.NewServeMux()
	probes.Mount(mux, reg)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return service.ListenAndServe(ctx, log, srv, addr, probes, service.Options{DrainDelay: time.Second, ShutdownTimeout: 5 * time.Second})
}

// runWithProbes runs a worker or scheduler process: run works until ctx
// is done, registering its metrics on the process's registry (which
// already has the Go and process collectors), while serveProbes serves
// that registry on addr.
func runWithProbes(ctx context.Context, log *slog.Logger, pool *redis.Pool, addr string, run func(reg prometheus.Registerer) error) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	errc := make(chan error, 1)
	go func() { errc <- run(reg) }()
	if err := serveProbes(ctx, log, pool, reg, addr); err != nil {
		return err
	}
	return <-errc
}

func runWorkerCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var f jobFlags
	f.register(fs, true)
	concurrency := fs.Uint("concurrency", 4, "jobs run at once")
	batch := fs.Int("batch-size", 500, "accounts per fan-out batch job")
	dormant := fs.Duration("dormant-after", 180*24*time.Hour, "inactivity after which the weekly sweep marks an account dormant")
	// --shutdown-timeout, as api and web name the same thing; the older
	// --grace-period (BANK_GRACE_PERIOD) still works.
	grace := fs.Duration("shutdown-timeout", 20*time.Second, "on SIGTERM, how long running jobs may finish before they are handed back")
	fs.DurationVar(grace, "grace-period", 20*time.Second, "deprecated: --shutdown-timeout")
	allowPrivate := fs.Bool("webhook-allow-private", false, "deliver webhooks over http and to loopback/private addresses (local development only)")
	var ack redispool.Ack
	ack.Flags(fs)
	pprofAddr := pprofFlag(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := validateRedis(f.redis, ack); err != nil {
		return err
	}
	loc, err := f.location()
	if err != nil {
		return err
	}
	log := cli.Logger(f.logLevel).With("component", "worker")
	if err := service.ServePprof(ctx, *pprofAddr, log); err != nil {
		return err
	}
	pool := f.pool(int(*concurrency) + 16)
	defer pool.Close()
	return runWithProbes(ctx, log, pool, f.metricsAddr, func(reg prometheus.Registerer) error {
		return runWorker(ctx, log, pool, workerOptions{Namespace: f.namespace, Concurrency: *concurrency, Location: loc,
			BatchSize: *batch, DormantAfter: *dormant, Grace: *grace, Registry: reg, Ack: ack, WebhookAllowPrivate: *allowPrivate})
	})
}
