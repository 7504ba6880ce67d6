// Package web is the bank's browser front end: server-rendered pages
// (html/template, embedded assets, no build step) that talk to the API
// over HTTP with the logged-in user's token. The web app holds no money
// rules: it parses what people type, shows what the API answers, and
// keeps a browser session in Redis.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/requestid"
	"github.com/kubebank/kubebank/src/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CookieName is the session cookie. The __Host- prefix would pin it to
// HTTPS, which local development without TLS cannot use, so it is plain.
const CookieName = "bank_session"

// Options configure a Server.
type Options struct {
	API           *apiclient.Client
	Sessions      *Sessions
	Logger        *slog.Logger
	SecureCookies bool // set the cookie's Secure flag (behind TLS)
	// TrustedProxies are the networks whose X-Forwarded-For the web app
	// passes on to the API (the ingress controller's pods); from any other
	// peer only the peer's address is sent.
	TrustedProxies []netip.Prefix
	// Ready reports extra dependencies for /readyz (e.g. Redis); the API's
	// own /readyz is always checked.
	Ready map[string]service.Check
}

// Server is the web app's http.Handler.
type Server struct {
	api      *apiclient.Client
	sessions *Sessions
	log      *slog.Logger
	secure   bool
	trusted  []netip.Prefix
	pages    map[string]*template.Template
	handler  http.Handler
	Probes   *service.Probes
	Registry *prometheus.Registry
	duration *prometheus.HistogramVec
	apiErrs  *prometheus.CounterVec
}

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = requestid.Logger(o.Logger) // every line about a request names it
	s := &Server{api: o.API, sessions: o.Sessions, log: o.Logger, secure: o.SecureCookies, trusted: o.TrustedProxies, pages: map[string]*template.Template{}}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.Registry = prometheus.NewRegistry()
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bank_web_request_duration_seconds",
		Help:    "Time to answer a web request, including the API calls it makes, by route.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "method", "code"})
	s.apiErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bank_web_api_problems_total",
		Help: "API problem answers shown to users, by code.",
	}, []string{"code"})
	s.Registry.MustRegister(s.duration, s.apiErrs)

	checks := map[string]service.Check{"api": o.API.Ready}
	for k, v := range o.Ready {
		checks[k] = v
	}
	s.Probes = service.NewProbes(checks)

	// The app's port is public (the Ingress sends "/" here), so it serves
	// no /readyz (which fans out to the API and Redis and shows their
	// errors) and no /metrics: those are on OpsHandler, which `bank web`
	// serves on its own --metrics-addr. A plain /healthz stays for load
	// balancers that check the app's port; it reveals nothing.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	s.routes(mux)

	// Every state-changing request must come from our own pages: the
	// browser's Sec-Fetch-Site / Origin headers say where a form was
	// posted from, so no token has to be threaded through each form.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "cross-origin request rejected", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.renderError(w, r, http.StatusForbidden, "Request blocked", "This form was sent from another website, so it was not processed. Open the bank's own page and try again.")
	}))
	s.handler = s.observe(securityHeaders(cop.Handler(mux)))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpsHandler serves /healthz, /readyz and /metrics for the kubelet and
// Prometheus, on a listener that only the cluster reaches.
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	s.Probes.Mount(mux, s.Registry)
	return mux
}

func (s *Server) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return err
		}
		s.pages[base] = t
	}
	return nil
}

func (s *Server) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, fileServer)))

	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /signup", s.signupForm)
	mux.HandleFunc("POST /signup", s.signup)
	mux.HandleFunc("POST /logout", s.logout)

	mux.Handle("GET /dashboard", s.user(s.dashboard))
	mux.Handle("POST /accounts", s.user(s.openAccount))
	mux.Handle("GET /accounts/{number}", s.user(s.accountPage))
	mux.Handle("GET /accounts/{number}/statements/{month}", s.user(s.statementCSV))
	mux.Handle("GET /transfer", s.user(s.transferForm))
	mux.Handle("POST /transfer", s.user(s.transferReview))
	mux.Handle("POST /transfer/confirm", s.user(s.transferConfirm))
	mux.Handle("GET /standing-orders", s.user(s.standingOrders))
	mux.Handle("POST /standing-orders", s.user(s.createStandingOrder))
	mux.Handle("POST /standing-orders/{id}/cancel", s.user(s.cancelStandingOrder))

	mux.Handle("GET /teller", s.staff(s.tellerSearch))
	mux.Handle("GET /teller/accounts/{number}", s.staff(s.tellerAccount))
	mux.Handle("POST /teller/accounts/{number}/cash", s.staff(s.tellerCash))
	mux.Handle("POST /teller/accounts/{number}/status", s.staff(s.tellerStatus))
	mux.Handle("GET /teller/operations", s.staff(s.operations))
	mux.Handle("GET /teller/audit", s.staff(s.auditLog))
	mux.Handle("GET /teller/reversals/new", s.staff(s.reversalNew))
	mux.Handle("POST /teller/reversals", s.staff(s.reversalCreate))
	mux.Handle("POST /teller/reversals/{id}/decision", s.staff(s.reversalDecide))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
}

// observe records each request's duration by route pattern (not raw path,
// which would make one time series per account number).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = requestid.Start(w, r) // one id per request, passed on to the API (apiclient sends it)
		rec := service.NewStatusRecorder(w)
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.duration.WithLabelValues(route, r.Method, strconv.Itoa(rec.Code())).Observe(d.Seconds())
		if route != "GET /healthz" {
			service.AccessLog(r.Context(), s.log, r.Method, route, rec.Code(), d)
		}
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Only our own stylesheet, no scripts at all, no framing (clickjacking).
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		// Our forms are tiny; a huge body is an attack, not a customer.
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	v := "public, max-age=" + strconv.Itoa(int(d.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", v)
		next.ServeHTTP(w, r)
	})
}

// ctxKey carries the session through a request's context.
type ctxKey struct{}

func sessionFrom(r *http.Request) *Session {
	s, _ := r.Context().Value(ctxKey{}).(*Session)
	return s
}

// load reads the session named by the cookie. expired reports that the
// browser had a session cookie whose session no longer exists.
func (s *Server) load(r *http.Request) (sess *Session, expired bool, err error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, false, nil
	}
	sess, err = s.sessions.Get(r.Context(), c.Value)
	if err != nil {
		return nil, false, err
	}
	return sess, sess == nil, nil
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, sess *Session)

// user wraps pages that need a logged-in user: without one, the browser
// goes to the login page and comes back afterwards.
func (s *Server) user(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, expired, err := s.load(r)
		if err != nil {
			s.log.ErrorContext(r.Context(), "session store", "err", err)
			s.renderError(w, r, http.StatusServiceUnavailable, "Temporarily unavailable", "We cannot reach the session store right now. Please try again in a moment.")
			return
		}
		if sess == nil {
			s.toLogin(w, r, expired)
			return
		}
		if sess.Flash != "" {
			// Show the flash once: it was put there by the previous POST.
			flash := sess.Flash
			sess.Flash = ""
			if err := s.sessions.Save(r.Context(), sess); err != nil {
				s.log.WarnContext(r.Context(), "clearing flash", "err", err)
			}
			sess.Flash = flash
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)), sess)
	})
}

// staff wraps teller pages: customers get 403.
func (s *Server) staff(h handlerFunc) http.Handler {
	return s.user(func(w http.ResponseWriter, r *http.Request, sess *Session) {
		if !sess.Staff() {
			s.renderError(w, r, http.StatusForbidden, "Tellers only", "This page is for bank staff.")
			return
		}
		h(w, r, sess)
	})
}

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, expired bool) {
	v := url.Values{}
	if r.Method == http.MethodGet {
		v.Set("next", r.URL.RequestURI())
	}
	if expired {
		v.Set("expired", "1")
		s.clearCookie(w)
	}
	http.Redirect(w, r, "/login?"+v.Encode(), http.StatusSeeOther)
}

func (s *Server) setCookie(w http.ResponseWriter, sess *Session) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: sess.ID, Path: "/",
		Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt).Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// flash stores a one-time message for the next page (POST/redirect/GET).
func (s *Server) flash(r *http.Request, sess *Session, msg string) {
	sess.Flash = msg
	if err := s.sessions.Save(r.Context(), sess); err != nil {
		s.log.WarnContext(r.Context(), "saving flash", "err", err)
	}
}

// page is what every template receives.
type page struct {
	Title   string
	Nav     string
	Session *Session
	Flash   string
	Data    any
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.log.ErrorContext(r.Context(), "unknown template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if p.Session == nil {
		p.Session = sessionFrom(r)
	}
	if p.Session != nil && p.Flash == "" {
		p.Flash = p.Session.Flash
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.ErrorContext(r.Context(), "rendering", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show balances: never let a shared cache or the back button
	// show one user's money to another.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct{ Heading, Message string }

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, code int, heading, msg string) {
	s.render(w, r, code, "error", page{Title: heading, Data: errorData{heading, msg}})
}

// apiFailure turns an API error on a page load into a page: an expired
// token ends the session, 404 is "not found" (also for other people's
// accounts: the API never tells them apart), anything else is shown.
func (s *Server) apiFailure(w http.ResponseWriter, r *http.Request, sess *Session, err error) {
	p, ok := apiclient.AsProblem(err)
	switch {
	case !ok:
		s.log.ErrorContext(r.Context(), "api call failed", "path", r.URL.Path, "err", err)
		s.renderError(w, r, http.StatusBadGateway, "The bank is not answering", "We could not reach the banking service. Please try again in a moment.")
	case p.Status == http.StatusUnauthorized:
		s.expire(w, r, sess)
	case p.Status == http.StatusNotFound:
		msg := "There is no such account, or it is not yours."
		switch {
		case strings.HasPrefix(p.Code, "standing_order"):
			msg = "There is no such standing order, or it is not yours."
		case strings.HasPrefix(p.Code, "statement"):
			msg = "There is no statement for this month yet."
		}
		s.renderError(w, r, http.StatusNotFound, "Not found", msg)
	case p.Status == http.StatusForbidden:
		s.renderError(w, r, http.StatusForbidden, "Not allowed", "You are not allowed to do this.")
	default:
		s.apiErrs.WithLabelValues(p.Code).Inc()
		s.renderError(w, r, p.Status, "Something went wrong", describe(p))
	}
}

// refused is err as a problem the page shows (the API refused the form),
// or, for any other error, the failure page already answered.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, sess *Session, err error) (*apiclient.Problem, bool) {
	p, ok := formProblem(err)
	if !ok {
		s.apiFailure(w, r, sess, err)
	}
	return p, ok
}

// formProblem returns the API problem in err when a form can show it for
// the user to fix; ok is false for what apiFailure must handle instead:
// no answer, a server error, or a rejected token.
func formProblem(err error) (p *apiclient.Problem, ok bool) {
	p, ok = apiclient.AsProblem(err)
	return p, ok && p.Status < 500 && p.Status != http.StatusUnauthorized
}

// expire ends a session whose API token was rejected (expired or revoked).
func (s *Server) expire(w http.ResponseWriter, r *http.Request, sess *Session) {
	if sess != nil {
		_ = s.sessions.Delete(r.Context(), sess.ID)
	}
	s.toLogin(w, r, true)
}

// newIdempotencyKey is generated when a money-moving form is rendered and
// travels in a hidden field, so that a refresh or a double click sends the
// same key and the API moves the money once.
func newIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "web-" + hex.EncodeToString(b[:])
}

func validIdemKey(k string) bool {
	if len(k) < 1 || len(k) > 100 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
