// Package api is the JSON REST API under /v1: chi routes, bearer-token
// authentication, strict request decoding, RFC 9457 problem responses and
// the OpenAPI document that describes all of it. Money rules live in the
// ledger; this package decides who may ask for what and turns HTTP into
// ledger calls and back.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/requestid"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Config wires the API to its dependencies.
type Config struct {
	Ledger   *ledger.Ledger
	Auth     *auth.Service
	Audit    *audit.Log // the trail staff actions are written to and read from
	Log      *slog.Logger
	Registry prometheus.Registerer // where API metrics go; nil means not exported
	// MaxBody bounds request bodies in bytes (DefaultMaxBody when 0).
	MaxBody int64
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// when working out the client address for rate limits (e.g. the web
	// app's pods). Empty: the TCP peer address is the client.
	TrustedProxies []netip.Prefix
	// Anyone opening an account may pick an overdraft limit and a savings
	// rate only up to these bounds (staff too: an account is always opened
	// for its caller). Zero means the Default* value; negative allows none.
	CustomerMaxOverdraft int64
	CustomerMaxRateBps   int64
	// Statements, Standing and Webhooks are the stores behind the
	// statement, standing-order and webhook routes, built by the caller:
	// the bank's time zone (standing.NewStore) and which webhook URLs are
	// allowed (webhooks.Options) are settled there, not in the transport.
	// All three are required.
	Statements *statements.Store
	Standing   *standing.Store
	Webhooks   *webhooks.Store
	// PoolStats reads the Redis connection pool's statistics for the
	// bank_api_redis_pool_* metrics (e.g. (*redis.Pool).Stats); nil
	// leaves those metrics out.
	PoolStats func() redis.PoolStats
	// QueueStats reads the background jobs' queues for the admin API; the
	// worker's package provides it, so the API does not depend on it.
	QueueStats func(context.Context) ([]bank.QueueStat, error)
}

// Defaults for Config's customer bounds.
const (
	DefaultCustomerMaxOverdraft = 100_000 // 1,000.00 in a 2-decimal currency
	DefaultCustomerMaxRateBps   = 500     // 5% a year
)

// Server serves the API.
type Server struct {
	cfg     Config
	l       *ledger.Ledger
	a       *auth.Service
	audit   *audit.Log
	log     *slog.Logger
	m       *metrics
	router  chi.Router
	maxBody int64

	statements *statements.Store
	standing   *standing.Store
	webhooks   *webhooks.Store
}

// New builds the API handler. It panics when a required dependency is
// missing: that is a wiring mistake, better found at start-up than as a
// 500 on the first request that needs it.
func New(cfg Config) *Server {
	if cfg.Ledger == nil || cfg.Auth == nil || cfg.Audit == nil || cfg.Statements == nil || cfg.Standing == nil || cfg.Webhooks == nil {
		panic("api: Config needs Ledger, Auth, Audit, Statements, Standing and Webhooks")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Log = requestid.Logger(cfg.Log) // every line about a request names it
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.CustomerMaxOverdraft == 0 {
		cfg.CustomerMaxOverdraft = DefaultCustomerMaxOverdraft
	}
	if cfg.CustomerMaxRateBps == 0 {
		cfg.CustomerMaxRateBps = DefaultCustomerMaxRateBps
	}
	cfg.CustomerMaxOverdraft, cfg.CustomerMaxRateBps = max(cfg.CustomerMaxOverdraft, 0), max(cfg.CustomerMaxRateBps, 0)
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, l: cfg.Ledger, a: cfg.Auth, audit: cfg.Audit, log: cfg.Log, maxBody: cfg.MaxBody, m: newMetrics(reg, cfg.PoolStats),
		statements: cfg.Statements,
		standing:   cfg.Standing,
		webhooks:   cfg.Webhooks}
	s.router = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes lists "METHOD /pattern" for every route, for the test that
// checks the OpenAPI document covers them all.
func (s *Server) Routes() []string {
	var out []string
	_ = chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+strings.TrimSuffix(route, "/"))
		return nil
	})
	return out
}

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.observe, s.recoverer, securityHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errStatus(http.StatusNotFound, "not_found", "no such route: "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errStatus(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path))
	})
	r.Route("/v1", func(r chi.Router) {
		r.Get("/openapi.yaml", serveOpenAPI)
		r.Post("/auth/register", s.handle(s.register))
		r.Post("/auth/login", s.handle(s.login))
		// One round trip: the ledger's script authenticates (transfers.go,
		// holds.go).
		r.Post("/transfers", s.handle(s.transfer))
		r.Post("/holds", s.handle(s.authorizeHold))
		r.Post("/holds/{id}/capture", s.handle(s.captureHold))
		r.Post("/holds/{id}/void", s.handle(s.voidHold))
		// Cash at the till, a reversal's approval and an account's reads
		// too (teller.go, reversals.go, accounts.go, onetrip.go).
		r.Post("/teller/deposits", s.handle(s.tellerDeposit))
		r.Post("/teller/withdrawals", s.handle(s.tellerWithdrawal))
		r.Get("/accounts/{number}", s.handle(s.getAccount))
		r.Get("/accounts/{number}/entries", s.handle(s.entries))
		r.Get("/accounts/{number}/balance", s.handle(s.balanceAt))
		r.Get("/transfers/{id}", s.handle(s.getTransfer))
		r.Post("/admin/reversals/{id}/approve", s.handle(s.approveReversal))
		r.Group(func(r chi.Router) {
			// Who may use which route: permissions.go; what staff do (or
			// try) is audited: audit.go.
			r.Use(s.authenticated)
			r.Post("/auth/logout", s.handle(s.logout))
			r.Get("/me", s.handle(s.me))
			r.Get("/accounts", s.handle(s.listAccounts))
			r.Post("/accounts", s.handle(s.openAccount))
			r.Get("/accounts/{number}/holds", s.handle(s.accountHolds))
			r.Get("/holds/{id}", s.handle(s.getHold))
			r.Get("/accounts/{number}/statements", s.handle(s.listStatements))
			r.Get("/accounts/{number}/statements/{month}", s.handle(s.getStatement))
			r.Get("/standing-orders", s.handle(s.listStandingOrders))
			r.Post("/standing-orders", s.handle(s.createStandingOrder))
			r.Get("/standing-orders/{id}", s.handle(s.getStandingOrder))
			r.Delete("/standing-orders/{id}", s.handle(s.cancelStandingOrder))
			r.Get("/webhooks", s.handle(s.listWebhooks))
			r.Post("/webhooks", s.handle(s.createWebhook))
			r.Delete("/webhooks/{id}", s.handle(s.deleteWebhook))
			r.Group(func(r chi.Router) {
				// Staff routes; permissions.go says which roles.
				r.Get("/teller/customers", s.handle(s.searchCustomers))
				r.Get("/teller/till", s.handle(s.till))
				r.Post("/admin/accounts/{number}/freeze", s.handle(s.setStatus(ledger.ActionFreeze)))
				r.Post("/admin/accounts/{number}/unfreeze", s.handle(s.setStatus(ledger.ActionUnfreeze)))
				r.Post("/admin/accounts/{number}/close", s.handle(s.setStatus(ledger.ActionClose)))
				r.Post("/admin/accounts/{number}/overdraft", s.handle(s.setOverdraft))
				r.Get("/admin/reconciliation", s.handle(s.reconciliation))
				r.Get("/admin/jobs", s.handle(s.jobStats))
				r.Post("/admin/reversals", s.handle(s.requestReversal))
				r.Get("/admin/reversals", s.handle(s.listReversals))
				r.Get("/admin/reversals/{id}", s.handle(s.getReversal))
				r.Post("/admin/reversals/{id}/reject", s.handle(s.rejectReversal))
				r.Post("/admin/users", s.handle(s.createUser))
				r.Post("/admin/users/{id}/role", s.handle(s.setRole))
				r.Get("/admin/audit", s.handle(s.auditLog))
			})
		})
	})
	return r
}
