package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/service"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

func init() {
	commands["api"] = command{"serve the JSON REST API (port 8000)", runAPI}
}

// defaultAPIMemoryLimitMiB keeps the API's memory under 64 MB at peak:
// about 24 MB serve the money routes, and a login's password hash holds
// 12 MiB, whose garbage would otherwise double the heap before the
// collector runs.
const defaultAPIMemoryLimitMiB = 40

// defaultAPIGCPercent lets the heap grow to five times what is live
// (a few MB under load) before a collection, the memory limit bounding
// it: a tenth of the API's CPU went to collecting at the default 100.
const defaultAPIGCPercent = 400

// apiFlags are the settings of the API, shared with `bank dev`.
type apiFlags struct {
	addr, logLevel, trustedProxies, timezone       string
	redis                                          redispool.Options
	ack                                            redispool.Ack
	poolSize                                       int
	tokenTTL, drainDelay, shutdownTimeout          time.Duration
	maxBody, customerMaxOverdraft, customerMaxRate int64
	limits                                         auth.Limits
	exposure                                       ledger.Limits
	webhookAllowPrivate, groupCommit               bool
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", ":8000", "listen address")
	f.redisFlags(fs)
	f.ack.Flags(fs)
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.timezone, "timezone", "UTC", "IANA time zone of the bank's days (standing-order dates); must match the worker's")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For names the client (e.g. the web app's pod network)")
	fs.IntVar(&f.poolSize, "redis-pool-size", 64, "maximum Redis connections")
	fs.BoolVar(&f.groupCommit, "redis-group-commit", true, "send the money-moving scripts of concurrent requests to Redis together, in shared writes (group commit); false: each on a connection of its own")
	fs.DurationVar(&f.tokenTTL, "token-ttl", auth.DefaultTokenTTL, "how long a login token is valid")
	fs.DurationVar(&f.drainDelay, "drain-delay", 5*time.Second, "how long /readyz fails before the listener closes on SIGTERM")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	fs.Int64Var(&f.maxBody, "max-body-bytes", api.DefaultMaxBody, "largest accepted request body")
	fs.Int64Var(&f.customerMaxOverdraft, "customer-max-overdraft", api.DefaultCustomerMaxOverdraft, "largest overdraft limit (minor units) a customer may choose when opening an account")
	fs.Int64Var(&f.customerMaxRate, "customer-max-rate-bps", api.DefaultCustomerMaxRateBps, "largest savings interest rate (basis points) a customer may choose")
	f.exposure = ledger.DefaultLimits
	fs.Int64Var(&f.exposure.MaxTotalOverdraft, "customer-max-total-overdraft", f.exposure.MaxTotalOverdraft, "largest sum (minor units) of the overdraft limits of one customer's open accounts in one currency")
	fs.Int64Var(&f.exposure.MaxAccounts, "customer-max-accounts", f.exposure.MaxAccounts, "most open (not closed) accounts one customer may have")
	fs.BoolVar(&f.webhookAllowPrivate, "webhook-allow-private", false, "accept webhook URLs over http and on loopback/private addresses (local development only)")
	f.limits = auth.DefaultLimits
	fs.IntVar(&f.limits.FailuresPerUser, "login-failures-per-user", f.limits.FailuresPerUser, "login attempts per username from one client address per --login-user-window before 429 (a success clears the count)")
	fs.IntVar(&f.limits.AttemptsPerUser, "login-attempts-per-user", f.limits.AttemptsPerUser, "login attempts per username from all addresses per --login-user-window before 429 (stops guessing spread over many addresses)")
	fs.DurationVar(&f.limits.UserWindow, "login-user-window", f.limits.UserWindow, "window for --login-failures-per-user")
	fs.IntVar(&f.limits.AttemptsPerAddr, "login-attempts-per-addr", f.limits.AttemptsPerAddr, "login attempts per client address per --login-addr-window before 429")
	fs.DurationVar(&f.limits.AddrWindow, "login-addr-window", f.limits.AddrWindow, "window for --login-attempts-per-addr")
	fs.IntVar(&f.limits.RegisterPerAddr, "registrations-per-addr", f.limits.RegisterPerAddr, "registrations per client address per --registration-window before 429")
	fs.DurationVar(&f.limits.RegisterWindow, "registration-window", f.limits.RegisterWindow, "window for --registrations-per-addr")
}

func (f *apiFlags) redisFlags(fs *flag.FlagSet) {
	f.redis.Flags(fs, "Redis URL")
}

func runAPI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	var f apiFlags
	f.register(fs)
	pprofAddr := pprofFlag(fs)
	memLimit := fs.Int64("memory-limit-mib", defaultAPIMemoryLimitMiB, "Go's soft memory limit in MiB (0: none; a GOMEMLIMIT in the environment wins)")
	gcPercent := fs.Int("gc-percent", defaultAPIGCPercent, "Go's GOGC under the memory limit: how far the heap may grow over what is live before a collection (only with a memory limit, which then bounds it; a GOGC in the environment wins)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := validateRedis(f.redis, f.ack); err != nil {
		return err
	}
	log := cli.Logger(f.logLevel)
	service.MemoryLimit(*memLimit, log)
	service.GCPercent(*gcPercent, log)
	if err := service.ServePprof(ctx, *pprofAddr, log); err != nil {
		return err
	}
	f.redis.MaxActive = f.poolSize
	pool := redispool.New(f.redis)
	defer pool.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	return serveAPI(ctx, log, pool, ln, f)
}

// serveAPI runs the API on ln until ctx is done: the handler, /healthz,
// /readyz and /metrics on the same port, and a graceful shutdown. `bank
// api` and `bank dev` both run it.
func serveAPI(ctx context.Context, log *slog.Logger, pool *redis.Pool, ln net.Listener, f apiFlags) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var pipe *redispool.Pipeline
	if f.groupCommit {
		pipe = redispool.NewPipeline(pool, f.redis.Timeout)
		defer pipe.Close()
		reg.MustRegister(pipe)
	}
	handler, probes, err := newAPIServer(ctx, log, pool, pipe, reg, f)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	probes.Mount(mux, reg)
	mux.Handle("/", handler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	return service.Serve(ctx, log, srv, ln, probes, service.Options{DrainDelay: f.drainDelay, ShutdownTimeout: f.shutdownTimeout})
}

// newAPIServer builds the API handler and its readiness probes. The
// system accounts are created in the background, retrying until Redis
// answers, so the process starts (and /healthz passes) while Redis is
// still coming up; /readyz stays failing until they exist.
func newAPIServer(ctx context.Context, log *slog.Logger, pool *redis.Pool, pipe *redispool.Pipeline, reg prometheus.Registerer, f apiFlags) (*api.Server, *service.Probes, error) {
	proxies, err := parseCIDRs(f.trustedProxies)
	if err != nil {
		return nil, nil, fmt.Errorf("--trusted-proxies: %v", err)
	}
	loc, err := time.LoadLocation(f.timezone)
	if err != nil {
		return nil, nil, fmt.Errorf("--timezone: %v", err)
	}
	if err := f.exposure.Validate(); err != nil {
		return nil, nil, fmt.Errorf("--customer-max-accounts, --customer-max-total-overdraft: %v", err)
	}
	l := ledger.New(pool)
	l.Limits = f.exposure
	l.Ack = f.ack
	l.Pipe = pipe
	a := auth.New(pool, f.limits)
	a.TokenTTL = f.tokenTTL
	var setUp atomic.Bool
	go func() {
		if retryUntilUp(ctx, log, func() error { return l.EnsureSystemAccounts(ctx) }) {
			setUp.Store(true)
		}
	}()
	probes := service.NewProbes(map[string]service.Check{
		"redis": func(ctx context.Context) error { return redispool.Ping(ctx, pool) },
		"ledger": func(context.Context) error {
			if !setUp.Load() {
				return errors.New("system accounts not yet created")
			}
			return nil
		},
	})
	trail := audit.New(pool)
	// The api reads the trail anyway: it exports its integrity (entries
	// deleted, the newest id) for the alert that watches it.
	reg.MustRegister(audit.NewCollector(trail))
	s := api.New(api.Config{Ledger: l, Auth: a, Log: log, Registry: reg, MaxBody: f.maxBody, TrustedProxies: proxies,
		CustomerMaxOverdraft: f.customerMaxOverdraft, CustomerMaxRateBps: f.customerMaxRate,
		Audit:      trail,
		Statements: statements.NewStore(pool),
		Standing:   standing.NewStore(pool, l, loc),
		Webhooks:   webhooks.NewStore(pool, webhooks.Options{AllowPrivate: f.webhookAllowPrivate}),
		PoolStats:  pool.Stats,
		QueueStats: func(ctx context.Context) ([]bank.QueueStat, error) { return jobs.Stats(ctx, pool, jobs.Namespace) }})
	return s, probes, nil
}
