package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/demo"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/service"
	"github.com/kubebank/kubebank/src/webhooks"
)

func init() {
	commands["dev"] = command{"run the whole bank on a laptop: private redis-server, api, worker, scheduler and web, with demo data", runDev}
}

func runDev(ctx context.Context, args []string) error {
	f, err := parseDevFlags(args)
	if err != nil {
		return err
	}
	// The scheduler below runs gocraft's periodic enqueuer in this
	// process: the bank's zone (UTC here) must be time.Local before any
	// goroutine starts.
	useBankZone(time.UTC)
	log := cli.Logger(f.level)
	if err := service.ServePprof(ctx, f.pprofAddr, log); err != nil {
		return err
	}

	url, stop, err := devRedis(log, f)
	if err != nil {
		return err
	}
	defer stop()
	pool := redispool.New(redispool.Options{URL: url})
	defer pool.Close()
	accounts, err := prepareDevLedger(ctx, log, pool, f.seed)
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", f.apiAddr)
	if err != nil {
		return fmt.Errorf("api: %w (is another bank dev running?)", err)
	}
	webLn, err := net.Listen("tcp", f.webAddr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	apiURL := "http://" + apiLn.Addr().String()
	webURL := "http://" + webLn.Addr().String()

	g := newProcGroup(ctx)
	g.start("api", func(ctx context.Context) error { return serveDevAPI(ctx, log.With("component", "api"), pool, apiLn) })
	g.start("web", func(ctx context.Context) error {
		return serveWeb(ctx, log.With("component", "web"), pool, webLn, webOptions{APIURL: apiURL, ShutdownTimeout: 5 * time.Second})
	})
	// The worker's registry carries the job and queue metrics; the
	// scheduler shares the process, so it registers nothing of its own.
	workerReg := prometheus.NewRegistry()
	g.start("worker", func(ctx context.Context) error {
		return runWorker(ctx, log.With("component", "worker"), pool, workerOptions{Namespace: jobs.Namespace, Concurrency: 4,
			Location: time.UTC, BatchSize: 500, DormantAfter: 180 * 24 * time.Hour, Grace: 5 * time.Second, Registry: workerReg,
			WebhookAllowPrivate: true}) // local http receivers on a laptop
	})
	g.start("worker-probes", func(ctx context.Context) error {
		return serveProbes(ctx, log.With("component", "worker"), pool, workerReg, f.metricsAddr)
	})
	g.start("scheduler", func(ctx context.Context) error {
		return runScheduler(ctx, log.With("component", "scheduler"), pool, schedulerOptions{Namespace: jobs.Namespace, Location: time.UTC, CatchUp: time.Hour})
	})
	printBanner(apiURL, webURL, url, f.metricsAddr, accounts)
	err = g.wait()
	log.Info("stopped")
	return err
}

type devFlags struct {
	redisURL, dataDir, apiAddr, webAddr, metricsAddr, level, pprofAddr string
	redisPort                                                          int
	seed                                                               bool
}

func parseDevFlags(args []string) (devFlags, error) {
	var f devFlags
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.StringVar(&f.redisURL, "redis-url", "", "use this Redis instead of starting a private redis-server")
	fs.IntVar(&f.redisPort, "redis-port", 6380, "port of the private redis-server (0 picks a free one); 6380 keeps clear of a system Redis on 6379")
	fs.StringVar(&f.dataDir, "data-dir", ".dev-data", "where the private redis-server keeps its append-only file")
	fs.StringVar(&f.apiAddr, "api-addr", "127.0.0.1:8000", "API listen address")
	fs.StringVar(&f.webAddr, "web-addr", "127.0.0.1:3000", "web app listen address")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9090", "worker health and metrics listen address")
	fs.BoolVar(&f.seed, "seed", true, "create the demo users, accounts and their history when new (idempotent)")
	fs.StringVar(&f.level, "log-level", "warn", "log level: debug, info, warn, error (info logs every request and job)")
	pprofAddr := pprofFlag(fs)
	err := cli.Parse(fs, args)
	f.pprofAddr = *pprofAddr
	return f, err
}

// devRedis returns the Redis to use: --redis-url, or a private
// redis-server it starts (stop stops it).
func devRedis(log *slog.Logger, f devFlags) (url string, stop func(), _ error) {
	if f.redisURL != "" {
		return f.redisURL, func() {}, nil
	}
	dir := filepath.Join(f.dataDir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	// appendfsync always: a laptop is not a benchmark, and a bank
	// should not lose an acknowledged transfer when the process dies.
	proc, err := redisproc.Start(redisproc.Options{Dir: dir, Port: f.redisPort, Output: os.Stderr,
		Extra: []string{"--appendfsync", "always"}})
	if err != nil {
		return "", nil, err
	}
	log.Info("started private redis-server", "url", proc.URL, "dir", dir)
	return proc.URL, func() { proc.Stop() }, nil
}

// prepareDevLedger checks Redis, creates the system accounts and, with
// seed, the demo bank (demo.Seed: users, accounts and their history).
func prepareDevLedger(ctx context.Context, log *slog.Logger, pool *redis.Pool, seed bool) (demo.Accounts, error) {
	if err := redispool.Ping(ctx, pool); err != nil {
		return nil, err
	}
	l := ledger.New(pool)
	if err := l.EnsureSystemAccounts(ctx); err != nil {
		return nil, err
	}
	if !seed {
		return nil, nil
	}
	// The seed's statements are announced the way the worker announces
	// them (the demo registers no webhooks, so nothing is delivered).
	pub := delivery.NewPublisher(webhooks.NewStore(pool, webhooks.Options{AllowPrivate: true}), work.NewEnqueuer(jobs.Namespace, pool))
	began := time.Now()
	accounts, err := demo.Seed(ctx, demo.Deps{Pool: pool, Auth: auth.New(pool, auth.DefaultLimits), Publisher: pub,
		Location: time.UTC, Log: log}, began)
	if err != nil {
		return nil, fmt.Errorf("seeding demo data: %w", err)
	}
	log.Info("demo data ready", "took", time.Since(began).String())
	return accounts, nil
}

// procGroup runs the components of one process until ctx ends or one of
// them fails, which stops the others.
type procGroup struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

func newProcGroup(ctx context.Context) *procGroup {
	g := &procGroup{}
	g.ctx, g.cancel = context.WithCancel(ctx)
	return g
}

func (g *procGroup) start(name string, f func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(g.ctx); err != nil && !errors.Is(err, context.Canceled) {
			g.mu.Lock()
			if g.err == nil {
				g.err = fmt.Errorf("%s: %w", name, err)
			}
			g.mu.Unlock()
			g.cancel()
		}
	}()
}

// wait returns, once every component has stopped, the first failure.
func (g *procGroup) wait() error {
	<-g.ctx.Done()
	g.wg.Wait()
	g.cancel()
	return g.err
}

func serveDevAPI(ctx context.Context, log *slog.Logger, pool *redis.Pool, ln net.Listener) error {
	var f apiFlags
	f.register(flag.NewFlagSet("api", flag.ContinueOnError))
	// The web app runs on loopback and forwards each browser's address,
	// so the per-address login limits count browsers, not the web app.
	f.trustedProxies = "127.0.0.1/32,::1/128"
	// Webhook receivers on a laptop are local http servers.
	f.webhookAllowPrivate = true
	// Nothing routes traffic by readiness on a laptop: stop at once.
	f.drainDelay, f.shutdownTimeout = 0, 5*time.Second
	return serveAPI(ctx, log, pool, ln, f)
}

func printBanner(apiURL, webURL, redisURL, metricsAddr string, accts demo.Accounts) {
	fmt.Printf(`
kubebank is running (Ctrl-C stops everything).

  web app   %s
  API       %s/v1   (OpenAPI: %s/v1/openapi.yaml)
  worker    http://%s/metrics
  Redis     %s

Demo logins (web app and API):
`, webURL, apiURL, apiURL, metricsAddr, redisURL)
	for _, d := range demo.Users {
		fmt.Printf("  %-8s %-22s (%s)\n", d.Name, d.Password, d.Role)
	}
	for _, name := range demo.Customers {
		for _, a := range accts[name] {
			fmt.Printf("  %s's %s account: %s\n", name, a.Type, a.Number)
		}
	}
	fmt.Printf(`
Run a periodic job by hand (safe to repeat; the scheduler also runs them):
  bin/bank jobs run interest-accrual --date %[3]s --redis-url %[2]s

Try the API:
  TOKEN=$(curl -s %[1]s/v1/auth/login -H 'Content-Type: application/json' \
          -d '{"username":"alice","password":"alice-demo-password"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/v1/accounts

`, apiURL, redisURL, time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02"))
}
