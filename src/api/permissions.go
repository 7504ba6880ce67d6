package api

// Who may use which route: one table of every route behind
// authentication, by method and chi route pattern, with the roles
// allowed, and the middleware that applies it. A route missing from the
// table is refused to everyone (deny by default), and a test walks the
// router so that a new route cannot be served without a decision here.
//
// The table decides by role only. What a customer may do with a
// particular account, transfer or hold (their own: yes; someone else's:
// 404) and what staff may not do on their own accounts stay in the
// handlers (access.go).

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
)

// The sets of roles the table uses.
var (
	// everyone who can log in; an auditor reads whatever staff read.
	everyone = []bank.Role{bank.Customer, bank.Teller, bank.Admin, bank.Auditor}
	// writers are everyone but auditors, who move no money and change
	// nothing, not even on accounts of their own.
	writers = []bank.Role{bank.Customer, bank.Teller, bank.Admin}
	// tellers work the till: cash, freezing. Admins can do all of it.
	tellers = bank.TillRoles
	// lookups find customers: all staff.
	lookups = []bank.Role{bank.Teller, bank.Admin, bank.Auditor}
	// staffRoles see every customer's accounts (but spend only their own).
	staffRoles = slices.DeleteFunc(bank.Roles(), func(r bank.Role) bool { return !r.Staff() })
	// admins alone reopen, close, set limits.
	admins = bank.AdminRoles
	// overseers read the bank's own state: reconciliation and the jobs.
	overseers = bank.OverseerRoles
)

// permissions maps "METHOD /pattern" (as Server.Routes lists them) to the
// roles that may use the route. docs/api.md shows the same table.
var permissions = map[string][]bank.Role{
	"POST /v1/auth/logout": everyone,
	"GET /v1/me":           everyone,

	"GET /v1/accounts":                             everyone,
	"POST /v1/accounts":                            writers,
	"GET /v1/accounts/{number}":                    everyone,
	"GET /v1/accounts/{number}/entries":            everyone,
	"GET /v1/accounts/{number}/balance":            everyone,
	"GET /v1/accounts/{number}/holds":              everyone,
	"GET /v1/accounts/{number}/statements":         everyone,
	"GET /v1/accounts/{number}/statements/{month}": everyone,
	"POST /v1/transfers":                           writers,
	"GET /v1/transfers/{id}":                       everyone,
	"POST /v1/holds":                               writers,
	"GET /v1/holds/{id}":                           everyone,
	"POST /v1/holds/{id}/capture":                  writers,
	"POST /v1/holds/{id}/void":                     writers,
	"GET /v1/standing-orders":                      everyone,
	"POST /v1/standing-orders":                     writers,
	"GET /v1/standing-orders/{id}":                 everyone,
	"DELETE /v1/standing-orders/{id}":              writers,
	"GET /v1/webhooks":                             everyone,
	"POST /v1/webhooks":                            writers,
	"DELETE /v1/webhooks/{id}":                     writers,
	"POST /v1/teller/deposits":                     tellers,
	"POST /v1/teller/withdrawals":                  tellers,
	"GET /v1/teller/customers":                     lookups,
	"GET /v1/teller/till":                          tellers,
	"POST /v1/admin/accounts/{number}/freeze":      tellers,
	"POST /v1/admin/accounts/{number}/unfreeze":    admins,
	"POST /v1/admin/accounts/{number}/close":       admins,
	"POST /v1/admin/accounts/{number}/overdraft":   admins,
	"GET /v1/admin/reconciliation":                 overseers,
	"GET /v1/admin/jobs":                           overseers,
	// Four eyes: staff at the till ask for a reversal, an admin other
	// than the one who asked decides it (reversals.go checks "other").
	"POST /v1/admin/reversals":              tellers,
	"GET /v1/admin/reversals":               lookups,
	"GET /v1/admin/reversals/{id}":          lookups,
	"POST /v1/admin/reversals/{id}/approve": admins,
	"POST /v1/admin/reversals/{id}/reject":  admins,
	"POST /v1/admin/users":                  admins,
	"POST /v1/admin/users/{id}/role":        admins,
	// The audit trail: admins and auditors read it; nobody can change it.
	"GET /v1/admin/audit": overseers,
}

// permit refuses, with 403 forbidden, a caller whose role the table does
// not allow on the matched route. It runs after authenticate, inside
// the router, where the route pattern is known.
func (s *Server) permit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := permissions[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()]
		if !slices.Contains(allowed, userOf(r).Role) {
			s.fail(w, r, forbidden(allowed))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// forbiddenFor is err, with a role refusal of a script that checked the
// table itself (transfers, holds) named as permit names it.
func forbiddenFor(allowed []bank.Role, err error) error {
	if bank.ErrorCode(err) == "forbidden" {
		return forbidden(allowed)
	}
	return err
}

// forbidden is the refusal naming who may use the route instead.
func forbidden(allowed []bank.Role) error {
	if len(allowed) == 0 {
		return bank.Errorf(bank.KindForbidden, "forbidden", "this route is not open to anyone")
	}
	names := make([]string, len(allowed))
	for i, role := range allowed {
		names[i] = string(role) + "s"
	}
	list := names[0]
	if n := len(names); n > 1 {
		list = strings.Join(names[:n-1], ", ") + " and " + names[n-1]
	}
	return bank.Errorf(bank.KindForbidden, "forbidden", "this route is for %s", list)
}
