// Package service runs an HTTP server the way Kubernetes expects (after
// stefanprodan/podinfo): /healthz says the process is alive, /readyz says
// its dependencies answer, /metrics serves Prometheus metrics, and on
// SIGTERM readiness fails first, in-flight requests drain, then it stops.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubebank/kubebank/src/buildinfo"
)

// Check reports whether a dependency is reachable.
type Check func(ctx context.Context) error

// Probes holds the state behind /healthz and /readyz.
type Probes struct {
	draining atomic.Bool
	checks   map[string]Check
}

// NewProbes returns probes that are ready while every check passes.
func NewProbes(checks map[string]Check) *Probes { return &Probes{checks: checks} }

// Drain makes /readyz fail so load balancers stop sending traffic.
func (p *Probes) Drain() { p.draining.Store(true) }

// Mount adds /healthz, /readyz and /metrics (from gatherer) to mux.
func (p *Probes) Mount(mux *http.ServeMux, gatherer prometheus.Gatherer) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", p.Ready)
	// Every process's metrics include which build it is (bank_build_info).
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{gatherer, buildinfo.Gatherer()}, promhttp.HandlerOpts{}))
}

// Ready serves /readyz.
func (p *Probes) Ready(w http.ResponseWriter, r *http.Request) {
	if p.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res := map[string]string{}
	code := http.StatusOK
	for name, check := range p.checks {
		if err := check(ctx); err != nil {
			res[name] = err.Error()
			code = http.StatusServiceUnavailable
		} else {
			res[name] = "ok"
		}
	}
	writeJSON(w, code, res)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Options for Serve.
type Options struct {
	// DrainDelay is how long readiness fails before the listener closes,
	// so that endpoints controllers notice. Keep it below the pod's
	// terminationGracePeriodSeconds minus ShutdownTimeout.
	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
}

// Serve runs srv on ln until ctx is cancelled, then drains and shuts down
// gracefully. It returns nil after a clean shutdown.
func Serve(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener, probes *Probes, o Options) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if probes != nil {
		probes.Drain()
	}
	log.Info("shutting down", "drain_delay", o.DrainDelay.String())
	time.Sleep(o.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// ListenAndServe listens on addr and calls Serve.
func ListenAndServe(ctx context.Context, log *slog.Logger, srv *http.Server, addr string, probes *Probes, o Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, log, srv, ln, probes, o)
}

// StatusRecorder remembers the status code a handler sent, for metrics
// and request logs. The first WriteHeader wins; a body without one is 200.
type StatusRecorder struct {
	http.ResponseWriter
	code int
}

// NewStatusRecorder wraps w.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w}
}

func (r *StatusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *StatusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Code is the status sent, 200 when the handler sent nothing.
func (r *StatusRecorder) Code() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// AccessLog writes the one line every process logs per request, with the
// same fields everywhere (request_id comes from ctx through the logger's
// requestid.LogHandler): at info, or error for a 5xx.
func AccessLog(ctx context.Context, log *slog.Logger, method, route string, status int, d time.Duration) {
	lvl := slog.LevelInfo
	if status >= 500 {
		lvl = slog.LevelError
	}
	log.Log(ctx, lvl, "request", "method", method, "route", route, "status", status, "duration_ms", d.Milliseconds())
}
