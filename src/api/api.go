// Package api is the JSON REST API under /v1: chi routes, bearer-token
// authentication, strict request decoding, RFC 9457 problem responses and
// the OpenAPI document that describes all of it. Money rules live in the
// ledger; this package decides who may ask for what and turns HTTP into
// ledger calls and back.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/service"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Config wires the API to its dependencies.
type Config struct {
	Ledger   *ledger.Ledger
	Auth     *auth.Service
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
	// Location is the bank's time zone: the day standing-order dates are
	// counted in. It must match the worker's --timezone; nil means UTC.
	Location *time.Location
	// WebhookAllowPrivate accepts webhook URLs over plain http and on
	// loopback/private addresses (`bank dev`, local receivers). Off in a
	// cluster, where it would let customers aim the worker at internal
	// services: see webhooks.Options.
	WebhookAllowPrivate bool
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
	log     *slog.Logger
	m       *metrics
	router  chi.Router
	maxBody int64

	statements *statements.Store
	standing   *standing.Store
	webhooks   *webhooks.Store
}

// New builds the API handler.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
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
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, l: cfg.Ledger, a: cfg.Auth, log: cfg.Log, maxBody: cfg.MaxBody, m: newMetrics(reg, cfg.Ledger.Pool()),
		statements: statements.NewStore(cfg.Ledger.Pool()),
		standing:   standing.NewStore(cfg.Ledger.Pool(), cfg.Ledger, cfg.Location),
		webhooks:   webhooks.NewStore(cfg.Ledger.Pool(), webhooks.Options{AllowPrivate: cfg.WebhookAllowPrivate})}
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
		r.Post("/auth/register", s.register)
		r.Post("/auth/login", s.login)
		r.Group(func(r chi.Router) {
			r.Use(s.authenticate)
			r.Post("/auth/logout", s.logout)
			r.Get("/me", s.me)
			r.Get("/accounts", s.listAccounts)
			r.Post("/accounts", s.openAccount)
			r.Get("/accounts/{number}", s.getAccount)
			r.Get("/accounts/{number}/entries", s.entries)
			r.Get("/accounts/{number}/holds", s.accountHolds)
			r.Post("/transfers", s.transfer)
			r.Get("/transfers/{id}", s.getTransfer)
			r.Post("/holds", s.authorizeHold)
			r.Get("/holds/{id}", s.getHold)
			r.Post("/holds/{id}/capture", s.captureHold)
			r.Post("/holds/{id}/void", s.voidHold)
			s.backgroundRoutes(r)
			r.Group(func(r chi.Router) {
				r.Use(staffOnly(s))
				r.Post("/teller/deposits", s.tellerDeposit)
				r.Post("/teller/withdrawals", s.tellerWithdrawal)
				r.Get("/teller/customers", s.searchCustomers)
				r.Post("/admin/accounts/{number}/freeze", s.setStatus(ledger.ActionFreeze))
				r.Post("/admin/accounts/{number}/unfreeze", s.setStatus(ledger.ActionUnfreeze))
				r.Post("/admin/accounts/{number}/close", s.setStatus(ledger.ActionClose))
				s.backgroundStaffRoutes(r)
			})
		})
	})
	return r
}

// observe records metrics by route pattern (never the raw path, which
// would make one time series per account number) and logs the request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		sw := service.NewStatusRecorder(w)
		next.ServeHTTP(sw, r)
		code := sw.Code()
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		d := time.Since(start)
		s.m.observe(route, r.Method, code, d.Seconds())
		lvl := slog.LevelDebug
		if code >= 500 {
			lvl = slog.LevelError
		}
		s.log.Log(r.Context(), lvl, "request", "id", id, "method", r.Method, "route", route, "status", code, "duration_ms", d.Milliseconds())
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				s.fail(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store") // balances must never sit in a shared cache
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const (
	ctxUser ctxKey = iota
	ctxToken
)

func userOf(r *http.Request) bank.User { return r.Context().Value(ctxUser).(bank.User) }
func tokenOf(r *http.Request) string   { return r.Context().Value(ctxToken).(string) }

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			s.fail(w, r, auth.ErrUnauthorized)
			return
		}
		tok = strings.TrimSpace(tok)
		u, err := s.a.Authenticate(r.Context(), tok)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), ctxUser, u)
		ctx = context.WithValue(ctx, ctxToken, tok)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var errForbidden = bank.Errorf(bank.KindForbidden, "forbidden", "this route is for tellers and admins")

func staffOnly(s *Server) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !userOf(r).Role.Staff() {
				s.fail(w, r, errForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// clientAddr is the address rate limits count against: the TCP peer, or,
// when the peer is a trusted proxy, the right-most address in
// X-Forwarded-For that is not itself a trusted proxy (the left-most
// entries are whatever the client chose to send).
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := host
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
		// Every hop so far is a trusted network: the furthest one is the
		// best guess. Falling back to the peer would put every user
		// behind one proxy (e.g. a load balancer's private node address)
		// into a single rate-limit bucket.
		client = a.String()
	}
	return client
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
