package api

// The audit trail of staff actions: which routes are staff actions (and
// under which audit action name), the record each such request carries
// for the script that does it, the entry for a refused attempt, and the
// route that reads the trail (GET /v1/admin/audit).

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/requestid"
)

// auditActions are the routes whose every request is audited, by
// "METHOD /pattern" as permissions lists them. A success is written by
// the script that does it, in the same step; a refusal (also a 403 from
// permit, also for a customer who tries) by fail.
var auditActions = map[string]string{
	"POST /v1/teller/deposits":                   audit.CashDeposit,
	"POST /v1/teller/withdrawals":                audit.CashWithdrawal,
	"POST /v1/admin/accounts/{number}/freeze":    audit.AccountFreeze,
	"POST /v1/admin/accounts/{number}/unfreeze":  audit.AccountUnfreeze,
	"POST /v1/admin/accounts/{number}/close":     audit.AccountClose,
	"POST /v1/admin/accounts/{number}/overdraft": audit.AccountOverdraft,
	"POST /v1/admin/reversals":                   audit.ReversalRequest,
	"POST /v1/admin/reversals/{id}/approve":      audit.ReversalApprove,
	"POST /v1/admin/reversals/{id}/reject":       audit.ReversalReject,
	"POST /v1/admin/users":                       audit.UserCreate,
	"POST /v1/admin/users/{id}/role":             audit.UserRole,
}

// auditTrail puts the audit record into the context of a request to a
// staff action: who asks, for what, under which request id. It runs
// before permit, so that a refused attempt is recorded too.
func (s *Server) auditTrail(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action, ok := auditActions[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		u := userOf(r)
		rec := &audit.Record{Actor: u.ID, ActorName: u.Username, Role: u.Role, Action: action, RequestID: requestid.From(r.Context())}
		if n := chi.URLParam(r, "number"); n != "" {
			rec.Target, rec.Accounts = n, []string{n}
		} else {
			rec.Target = chi.URLParam(r, "id")
		}
		next.ServeHTTP(w, r.WithContext(audit.NewContext(r.Context(), rec)))
	})
}

// auditAbout names what a staff action turned out to be about, once the
// handler has read it from the body: the account of a cash movement, the
// transfer to reverse.
func auditAbout(r *http.Request, target string, accounts ...string) {
	if rec := audit.FromContext(r.Context()); rec != nil {
		rec.Target = target
		if accounts != nil {
			rec.Accounts = accounts
		}
	}
}

// auditFailure appends the entry of a staff action that failed with p:
// "refused" for a problem of the caller's (4xx), "error" when the bank
// failed (5xx; whether the action happened is then in the trail too, as
// its script writes its entry when it does). A trail that cannot be
// written is logged: the answer stays the refusal.
func (s *Server) auditFailure(r *http.Request, p Problem) {
	rec := audit.FromContext(r.Context())
	if rec == nil {
		return
	}
	e := *rec
	e.Outcome, e.Code = audit.Refused, p.Code
	if p.Status >= 500 {
		e.Outcome = "error"
	}
	if _, err := s.audit.Append(r.Context(), e); err != nil {
		s.log.ErrorContext(r.Context(), "audit: refusal not recorded", "action", e.Action, "actor", e.Actor, "code", p.Code, "err", err.Error())
	}
}

// auditLog answers a page of the trail, newest first, filtered by actor,
// account and time range; next_cursor continues it.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Account: q.Get("account"), Cursor: q.Get("cursor")}
	if len(f.Actor) > 64 {
		return invalid("invalid_actor", "actor", "actor must be a user id")
	}
	if f.Account != "" {
		if err := checkNumber("account", f.Account); err != nil {
			return err
		}
	}
	if !audit.ValidCursor(f.Cursor) {
		return invalid("invalid_cursor", "cursor", "cursor must be the next_cursor of a previous page")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxLimit {
			return invalid("invalid_limit", "limit", "limit must be an integer between 1 and "+strconv.Itoa(audit.MaxLimit))
		}
		f.Limit = n
	}
	var err error
	if f.From, err = queryTime(q, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(q, "to"); err != nil {
		return err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return invalid("invalid_time", "to", "to must be after from")
	}
	page, err := s.audit.List(r.Context(), f)
	return reply(w, http.StatusOK, page, err)
}

// ownRole refuses staff changing their own role: an admin cannot demote
// the last admin by accident, nor promote themselves unseen.
func ownRole(r *http.Request, id string) error {
	if userOf(r).ID == id {
		return bank.Errorf(bank.KindForbidden, "own_user", "staff cannot change their own role")
	}
	return nil
}
