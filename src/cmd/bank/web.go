package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/service"
	"github.com/kubebank/kubebank/src/web"
)

func init() {
	commands["web"] = command{"serve the web app for customers and tellers (port 3000; metrics/health on 9090)", runWeb}
}

// webOptions are the web app's settings that `bank dev` also fills in.
type webOptions struct {
	APIURL          string
	SecureCookies   bool
	SessionTTL      time.Duration
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration
	// TrustedProxies are the networks whose X-Forwarded-For the web app
	// passes on to the API; nil passes on none (`bank dev`: browsers
	// connect straight to it).
	TrustedProxies []netip.Prefix
	// MetricsListener serves /healthz, /readyz and /metrics. nil serves
	// them on the app's own listener, which `bank dev` does (loopback
	// only); in a cluster the app's port is public, so they must not be.
	MetricsListener net.Listener
}

func runWeb(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	var (
		addr, metricsAddr, logLevel, trustedProxies string
		redisOpts                                   redispool.Options
		o                                           webOptions
	)
	fs.StringVar(&addr, "addr", ":3000", "listen address")
	fs.StringVar(&metricsAddr, "metrics-addr", ":9090", "listen address of /healthz, /readyz and /metrics (empty: on --addr, which then exposes them to whoever reaches the app)")
	fs.StringVar(&o.APIURL, "api-url", "http://api:8000", "base URL of the bank API")
	redisOpts.Flags(fs, "Redis URL (web sessions are kept there)")
	fs.StringVar(&trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of the proxies in front of the web app (the ingress controller's pods) whose X-Forwarded-For is passed on to the API; from other peers only the peer's address is")
	fs.BoolVar(&o.SecureCookies, "secure-cookies", false, "mark the session cookie Secure (set when served over TLS)")
	fs.DurationVar(&o.SessionTTL, "session-ttl", 8*time.Hour, "how long a browser session lasts at most (never longer than its API token)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	fs.DurationVar(&o.DrainDelay, "drain-delay", 5*time.Second, "how long /readyz fails before the listener closes on SIGTERM")
	pprofAddr := pprofFlag(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := redisOpts.Validate(); err != nil {
		return err
	}
	var err error
	if o.TrustedProxies, err = parseCIDRs(trustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	log := cli.Logger(logLevel)
	if err := service.ServePprof(ctx, *pprofAddr, log); err != nil {
		return err
	}
	redisOpts.MaxActive = 32
	pool := redispool.New(redisOpts)
	defer pool.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		if o.MetricsListener, err = net.Listen("tcp", metricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	return serveWeb(ctx, log, pool, ln, o)
}

// parseCIDRs reads a comma-separated list of networks; blanks are skipped.
func parseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %v", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// serveWeb runs the web app on ln (and its probes and metrics on
// o.MetricsListener) until ctx is done; `bank dev` calls it with its own
// Redis pool and listener.
func serveWeb(ctx context.Context, log *slog.Logger, pool *redis.Pool, ln net.Listener, o webOptions) error {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	srv, err := web.New(web.Options{
		API:            apiclient.New(o.APIURL, nil),
		Sessions:       web.NewSessions(pool, o.SessionTTL),
		Logger:         log,
		SecureCookies:  o.SecureCookies,
		TrustedProxies: o.TrustedProxies,
		Ready: map[string]service.Check{
			"redis": func(ctx context.Context) error { return redispool.Ping(ctx, pool) },
		},
	})
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	var app http.Handler = srv
	if o.MetricsListener == nil {
		mux := http.NewServeMux()
		ops := srv.OpsHandler()
		mux.Handle("GET /readyz", ops)
		mux.Handle("GET /metrics", ops)
		mux.Handle("/", srv)
		app = mux
	}
	log.Info("web app", "url", "http://"+ln.Addr().String(), "api", o.APIURL)
	hs := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10}
	so := service.Options{DrainDelay: o.DrainDelay, ShutdownTimeout: o.ShutdownTimeout}
	if o.MetricsListener == nil {
		return service.Serve(ctx, log, hs, ln, srv.Probes, so)
	}
	// Both listeners drain together on SIGTERM: the ops one keeps
	// answering /readyz with 503 while the app finishes its requests. If
	// either fails, the other stops too.
	ops := &http.Server{Handler: srv.OpsHandler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	for _, l := range []struct {
		hs *http.Server
		ln net.Listener
	}{{hs, ln}, {ops, o.MetricsListener}} {
		go func() {
			err := service.Serve(ctx, log, l.hs, l.ln, srv.Probes, so)
			cancel()
			errc <- err
		}()
	}
	return errors.Join(<-errc, <-errc)
}
