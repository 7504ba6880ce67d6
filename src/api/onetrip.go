package api

// Routes served in one Redis round trip: outside the authenticate group,
// their ledger script checks the token, the role (the permission table's,
// passed in) and what the caller may see or do, in the step that reads or
// moves the money. What their script cannot decide, a request refused
// before it runs (a bad body, number or query) or a script that did not
// answer (Redis unavailable, a write not replicated), goes through the
// group's chain (slowly): the same answers, in the same order, with the
// same audit entries as the group's routes, at the price of more round
// trips on those paths only.

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// authenticated is the chain of every route behind a token: who asks
// (authenticate), the audit record of a staff action (auditTrail), and
// the permission table (permit).
func (s *Server) authenticated(next http.Handler) http.Handler {
	return s.authenticate(s.auditTrail(s.permit(next)))
}

// slowly answers r with h behind the authenticated chain, as a route of
// the group would: a one-trip route's way for what its script did not
// decide. The answer is written; slowly returns nil for handle.
func (s *Server) slowly(w http.ResponseWriter, r *http.Request, h handler) error {
	s.authenticated(s.handle(h)).ServeHTTP(w, r)
	return nil
}

// route is the permission table's name of the route r matched.
func route(r *http.Request) string {
	return r.Method + " " + chi.RouteContext(r.Context()).RoutePattern()
}

// callerOf is who a one-trip route's script is asked for: the token's
// hash and the roles the table allows on route.
func callerOf(tok, route string) ledger.Caller {
	return ledger.Caller{TokenHash: auth.HashToken(tok), Allowed: permissions[route], Staff: staffRoles}
}

// refusedBefore reports whether err is bad input, found before a
// script ran (a 400).
func refusedBefore(err error) bool {
	return err != nil && problemFor(err).Status == http.StatusBadRequest
}

// oneRead serves a read in one round trip: read, given the caller, runs
// the route's script and writes the answer. Bad input goes to slow,
// the route's handler behind the authenticated chain, which refuses it
// as the group's routes do (after the token and the role, and, for an
// account's route, after the account).
func (s *Server) oneRead(w http.ResponseWriter, r *http.Request, read func(ledger.Caller) error, slow handler) error {
	tok, err := bearerToken(r)
	if err != nil {
		return err
	}
	who := callerOf(tok, route(r))
	err = read(who)
	if refusedBefore(err) {
		return s.slowly(w, r, slow)
	}
	return forbiddenFor(who.Allowed, err)
}

// answered reports whether err is the script's own refusal, which it
// has already put on the audit trail (when the caller is staff), rather
// than a failure to get an answer.
func answered(err error) bool {
	var be *bank.Error
	return errors.As(err, &be)
}

// oneWrite runs a money-moving POST in one round trip on the way it
// succeeds and on the refusals its script finds (moveMoney's steps, with
// post running the route's script for the caller). A request refused
// before the script (body, Idempotency-Key, fields), or a script that did
// not answer, is answered through the authenticated chain, so that a
// staff member's refusal or failure is audited as the group's routes
// audit it; about names what the request was about, once its body is
// known (auditAbout).
func oneWrite[Req validator, Res any](s *Server, w http.ResponseWriter, r *http.Request, kind string, status int,
	location func(Res) string, post func(ledger.Caller, Req, ledger.Idem) (Res, bool, error), about func(*http.Request, Req)) error {
	tok, err := bearerToken(r)
	if err != nil {
		return err
	}
	who := callerOf(tok, route(r))
	var asked *Req // set once the script is asked
	err = moveMoney(s, w, r, kind, status, location, func(req Req, idem ledger.Idem) (Res, bool, error) {
		asked = &req
		res, replayed, err := post(who, req, idem)
		return res, replayed, forbiddenFor(who.Allowed, err)
	})
	if err == nil || asked != nil && answered(err) {
		return err
	}
	return s.slowly(w, r, func(_ http.ResponseWriter, r *http.Request) error {
		if asked != nil && about != nil {
			about(r, *asked)
		}
		return err
	})
}
