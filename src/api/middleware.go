package api

// The middleware every request passes: request ids, metrics and logs,
// panics, security headers, and bearer-token authentication (which puts
// the caller into the request's context for userOf). Which role may use
// which route is permit, in permissions.go.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/requestid"
	"github.com/kubebank/kubebank/src/service"
)

// observe records metrics by route pattern (never the raw path, which
// would make one time series per account number) and logs the request.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = requestid.Start(w, r) // the web app's id, or a new one: its log lines and ours match
		sw := service.NewStatusRecorder(w)
		next.ServeHTTP(sw, r)
		code := sw.Code()
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		d := time.Since(start)
		s.m.observe(route, r.Method, code, d.Seconds())
		service.AccessLog(r.Context(), s.log, r.Method, route, code, d)
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v)
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

// bearerToken is the request's bearer token, if it can be one of ours:
// anything else is refused before Redis is asked.
func bearerToken(r *http.Request) (string, error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || !auth.WellFormed(tok) {
		return "", auth.ErrUnauthorized
	}
	return tok, nil
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := bearerToken(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
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
