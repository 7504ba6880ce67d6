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

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redisproc"
)

func init() {
	commands["dev"] = command{"run the whole bank on a laptop: private redis-server, api, worker, scheduler and web, with demo data", runDev}
}

// Demo logins printed by bank dev. They exist only in the local dev Redis.
var demoUsers = []struct {
	name, password string
	role           bank.Role
}{
	{"alice", "alice-demo-password", bank.Customer},
	{"bob", "bob-demo-password", bank.Customer},
	{"teller", "teller-demo-password", bank.Teller},
	{"admin", "admin-demo-password", bank.Admin},
}

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	redisURL := fs.String("redis-url", "", "use this Redis instead of starting a private redis-server")
	redisPort := fs.Int("redis-port", 6380, "port of the private redis-server (0 picks a free one); 6380 keeps clear of a system Redis on 6379")
	dataDir := fs.String("data-dir", ".dev-data", "where the private redis-server keeps its append-only file")
	apiAddr := fs.String("api-addr", "127.0.0.1:8000", "API listen address")
	webAddr := fs.String("web-addr", "127.0.0.1:3000", "web app listen address")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9090", "worker health and metrics listen address")
	seed := fs.Bool("seed", true, "create the demo users and accounts (idempotent)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error (info logs every request and job)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	// The scheduler below runs gocraft's periodic enqueuer in this
	// process: the bank's zone (UTC here) must be time.Local before any
	// goroutine starts.
	useBankZone(time.UTC)
	log := cli.Logger(*level)

	url := *redisURL
	if url == "" {
		dir := filepath.Join(*dataDir, "redis")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		// appendfsync always: a laptop is not a benchmark, and a bank
		// should not lose an acknowledged transfer when the process dies.
		proc, err := redisproc.Start(redisproc.Options{Dir: dir, Port: *redisPort, Output: os.Stderr,
			Extra: []string{"--appendfsync", "always"}})
		if err != nil {
			return err
		}
		defer proc.Stop()
		url = proc.URL
		log.Info("started private redis-server", "url", url, "dir", dir)
	}
	pool := redispool.New(redispool.Options{URL: url})
	defer pool.Close()
	if err := redispool.Ping(ctx, pool); err != nil {
		return err
	}
	l := ledger.New(pool)
	if err := l.EnsureSystemAccounts(ctx); err != nil {
		return err
	}
	var accounts map[string][]bank.Account
	if *seed {
		var err error
		if accounts, err = seedDemo(ctx, pool, l); err != nil {
			return fmt.Errorf("seeding demo data: %w", err)
		}
	}

	apiLn, err := net.Listen("tcp", *apiAddr)
	if err != nil {
		return fmt.Errorf("api: %w (is another bank dev running?)", err)
	}
	webLn, err := net.Listen("tcp", *webAddr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	apiURL := "http://" + apiLn.Addr().String()
	webURL := "http://" + webLn.Addr().String()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	start := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	start("api", func() error { return serveDevAPI(ctx, log.With("component", "api"), pool, apiLn) })
	start("web", func() error {
		return serveWeb(ctx, log.With("component", "web"), pool, webLn, webOptions{APIURL: apiURL, ShutdownTimeout: 5 * time.Second})
	})
	// The worker's registry carries the job and queue metrics; the
	// scheduler shares the process, so it registers nothing of its own.
	workerReg := prometheus.NewRegistry()
	start("worker", func() error {
		return runWorker(ctx, log.With("component", "worker"), pool, workerOptions{Namespace: jobs.Namespace, Concurrency: 4,
			Location: time.UTC, BatchSize: 500, DormantAfter: 180 * 24 * time.Hour, Grace: 5 * time.Second, Registry: workerReg,
			WebhookAllowPrivate: true}) // local http receivers on a laptop
	})
	start("worker-probes", func() error { return serveProbes(ctx, log.With("component", "worker"), pool, workerReg, *metricsAddr) })
	start("scheduler", func() error {
		return runScheduler(ctx, log.With("component", "scheduler"), pool, schedulerOptions{Namespace: jobs.Namespace, Location: time.UTC, CatchUp: time.Hour})
	})
	printBanner(apiURL, webURL, url, *metricsAddr, accounts)
	<-ctx.Done()
	log.Info("stopping")
	wg.Wait()
	close(errs)
	return <-errs
}

// serveDevAPI runs the API with its default settings on ln, with
// /healthz, /readyz and /metrics as in production.
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

// seedDemo creates the demo users and accounts once; later runs find them.
func seedDemo(ctx context.Context, pool *redis.Pool, l *ledger.Ledger) (map[string][]bank.Account, error) {
	a := auth.New(pool, auth.DefaultLimits)
	users := map[string]bank.User{}
	for _, d := range demoUsers {
		u, err := a.UserByName(ctx, d.name)
		if err != nil {
			if u, err = a.CreateUser(ctx, d.name, d.password, d.role); err != nil {
				return nil, err
			}
		}
		users[d.name] = u
	}
	out := map[string][]bank.Account{}
	for _, name := range []string{"alice", "bob"} {
		accts, err := l.AccountsOf(ctx, users[name].ID)
		if err != nil {
			return nil, err
		}
		if len(accts) == 0 {
			opens := []ledger.OpenRequest{{Owner: users[name].ID, Name: "Everyday", Type: bank.Checking, Currency: "EUR", OverdraftLimit: 50000}}
			if name == "alice" {
				opens = append(opens, ledger.OpenRequest{Owner: users[name].ID, Name: "Savings", Type: bank.Savings, Currency: "EUR", InterestRate: 250})
			}
			for _, r := range opens {
				acct, err := l.Open(ctx, r)
				if err != nil {
					return nil, err
				}
				if _, _, err := l.Deposit(ctx, acct.Number, 100000, "EUR", "Welcome deposit", users["teller"].ID,
					ledger.Idem{Scope: "dev-seed", Key: acct.Number, Hash: "seed"}); err != nil {
					return nil, err
				}
			}
			if accts, err = l.AccountsOf(ctx, users[name].ID); err != nil {
				return nil, err
			}
		}
		out[name] = accts
	}
	return out, nil
}

func printBanner(apiURL, webURL, redisURL, metricsAddr string, accts map[string][]bank.Account) {
	fmt.Printf(`
kubebank is running (Ctrl-C stops everything).

  web app   %s
  API       %s/v1   (OpenAPI: %s/v1/openapi.yaml)
  worker    http://%s/metrics
  Redis     %s

Demo logins (web app and API):
`, webURL, apiURL, apiURL, metricsAddr, redisURL)
	for _, d := range demoUsers {
		fmt.Printf("  %-8s %-22s (%s)\n", d.name, d.password, d.role)
	}
	for _, name := range []string{"alice", "bob"} {
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
