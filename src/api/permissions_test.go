package api_test

// The permission table, tried for real: every route behind
// authentication × every role gets the answer the table gives, the
// table decides every route the router serves (and no route it does
// not), docs/api.md shows the same matrix, and an auditor reads but
// moves nothing.

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
)

// publicRoutes need no token, so no role decides them.
var publicRoutes = []string{"GET /v1/openapi.yaml", "POST /v1/auth/register", "POST /v1/auth/login"}

// TestEveryRouteHasAPermission: a route the router serves without an
// entry in the table would be refused to everyone; the test says so
// here rather than in production. And the table names no route that
// does not exist (a renamed route must move its entry along).
func TestEveryRouteHasAPermission(t *testing.T) {
	e := newEnv(t)
	served := map[string]bool{}
	for _, rt := range e.API.Routes() {
		served[rt] = true
		_, decided := api.Permissions[rt]
		switch {
		case slices.Contains(publicRoutes, rt) && decided:
			t.Errorf("%s is public but in the permission table", rt)
		case !slices.Contains(publicRoutes, rt) && !decided:
			t.Errorf("%s has no entry in the permission table (src/api/permissions.go): nobody can use it", rt)
		}
	}
	for rt, roles := range api.Permissions {
		if !served[rt] {
			t.Errorf("the permission table names %s, which the router does not serve", rt)
		}
		for _, role := range roles {
			if !role.Valid() {
				t.Errorf("%s: unknown role %q", rt, role)
			}
		}
	}
}

// TestPermissionMatrix sends every authenticated route, as each role,
// a request that the handler would accept, and checks the answer against
// the table: a refused role gets 403 forbidden; an allowed one never a
// 401 nor the table's 403 (on staff routes no 403 at all). On customer
// routes a handler may still answer 403 for its own rule, e.g. staff
// spending a customer's money (not_account_owner, TestStaffCannotMoveCustomersMoney).
func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t)
	const pw = "password-" + "123"
	names := map[bank.Role]string{}
	tokens := map[bank.Role]string{}
	for _, role := range bank.Roles() {
		names[role] = "perm-" + string(role)
		tokens[role] = e.user(t, names[role], role)
	}
	cust := tokens[bank.Customer]
	a, b, hold, tr := e.customerMoney(t, cust, tokens[bank.Teller])
	move := map[string]any{"from": a.Number, "to": b.Number, "amount": 1_00, "currency": "EUR"}
	today := time.Now().UTC().Format("2006-01-02")
	order := map[string]any{"from": a.Number, "to": b.Number, "amount": 1_00, "currency": "EUR", "frequency": "monthly", "first_date": today}
	r := e.do(t, req{Method: "POST", Path: "/v1/standing-orders", Token: cust, Key: newKey(), Body: order})
	want(t, r, 201, "")
	var so struct{ ID string }
	r.decode(t, &so)

	ids := map[string]string{"/v1/transfers/": tr.ID, "/v1/holds/": hold.ID, "/v1/standing-orders/": so.ID, "/v1/webhooks/": "wh_" + strings.Repeat("0", 24)}
	path := func(route string) string {
		p := strings.NewReplacer("{number}", a.Number, "{month}", "2026-01").Replace(route)
		for prefix, id := range ids {
			if strings.HasPrefix(p, prefix) {
				p = strings.Replace(p, "{id}", id, 1)
			}
		}
		return p
	}
	cash := map[string]any{"account": a.Number, "amount": 1_00, "currency": "EUR"}
	bodies := map[string]any{
		"POST /v1/accounts":                          map[string]any{"type": "checking", "currency": "EUR"},
		"POST /v1/transfers":                         move,
		"POST /v1/holds":                             map[string]any{"account": a.Number, "payee": b.Number, "amount": 1_00, "currency": "EUR"},
		"POST /v1/holds/{id}/capture":                map[string]any{"amount": 1_00},
		"POST /v1/standing-orders":                   order,
		"POST /v1/webhooks":                          map[string]any{"url": "https://127.0.0.1/hook"}, // 400 for all who may ask
		"POST /v1/teller/deposits":                   cash,
		"POST /v1/teller/withdrawals":                cash,
		"POST /v1/admin/accounts/{number}/overdraft": map[string]any{"overdraft_limit": 0},
	}
	keyed := []string{"POST /v1/transfers", "POST /v1/holds", "POST /v1/holds/{id}/capture", "POST /v1/holds/{id}/void",
		"POST /v1/standing-orders", "POST /v1/teller/deposits", "POST /v1/teller/withdrawals"}
	query := map[string]string{"GET /v1/teller/customers": "?q=perm"}

	routes := e.API.Routes()
	sort.Strings(routes)
	tried := 0
	for _, rt := range routes {
		if slices.Contains(publicRoutes, rt) {
			continue
		}
		method, pattern, _ := strings.Cut(rt, " ")
		staffRoute := strings.HasPrefix(pattern, "/v1/teller/") || strings.HasPrefix(pattern, "/v1/admin/")
		for _, role := range bank.Roles() {
			rq := req{Method: method, Path: path(pattern) + query[rt], Token: tokens[role], Body: bodies[rt]}
			if slices.Contains(keyed, rt) {
				rq.Key = newKey()
			}
			if rt == "POST /v1/auth/logout" { // a token of its own, the others stay valid
				r := e.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"username": names[role], "password": pw}})
				want(t, r, 200, "")
				var s auth.Session
				r.decode(t, &s)
				rq.Token = s.Token
			}
			r := e.do(t, rq)
			tried++
			refusedByTable := r.Status == 403 && r.problem(t).Code == "forbidden"
			switch allowed := slices.Contains(api.Permissions[rt], role); {
			case !allowed && !refusedByTable:
				t.Errorf("%s as %s: %d %s, want 403 forbidden", rt, role, r.Status, r.Body)
			case allowed && (r.Status == 401 || refusedByTable || staffRoute && r.Status == 403):
				t.Errorf("%s as %s is allowed by the table but got %d %s", rt, role, r.Status, r.Body)
			}
		}
	}
	if want := (len(routes) - len(publicRoutes)) * len(bank.Roles()); tried != want || tried == 0 {
		t.Fatalf("tried %d combinations, want %d", tried, want)
	}
	e.balanced(t)
}

// TestPermissionMatrixIsDocumented: docs/api.md's permission matrix is
// the table, row for row, and the OpenAPI document has a 403 on every
// route that refuses some role.
func TestPermissionMatrixIsDocumented(t *testing.T) {
	d, err := loadDoc()
	if err != nil {
		t.Fatal(err)
	}
	for rt, allowed := range api.Permissions {
		if len(allowed) == len(bank.Roles()) {
			continue
		}
		method, pattern, _ := strings.Cut(rt, " ")
		item := d.Paths.Find(pattern)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s is not in the OpenAPI document", rt)
		} else if item.GetOperation(method).Responses.Value("403") == nil {
			t.Errorf("%s refuses some roles, but the OpenAPI document has no 403 for it", rt)
		}
	}
	raw, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	roles := bank.Roles()
	documented := map[string][]bank.Role{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		rt := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if _, known := api.Permissions[rt]; !known || len(cells) != 1+len(roles) {
			if strings.Contains(rt, " /v1/") {
				t.Errorf("docs/api.md row %q: not a route of the table, or not %d role columns", line, len(roles))
			}
			continue
		}
		for i, role := range roles {
			switch c := strings.TrimSpace(cells[1+i]); c {
			case "✓":
				documented[rt] = append(documented[rt], role)
			case "—":
			default:
				t.Errorf("docs/api.md %s, %s: %q, want ✓ or —", rt, role, c)
			}
		}
		if documented[rt] == nil {
			documented[rt] = []bank.Role{}
		}
	}
	for rt, allowed := range api.Permissions {
		got, ok := documented[rt]
		if !ok {
			t.Errorf("docs/api.md's permission matrix has no row for %s", rt)
			continue
		}
		for _, role := range roles {
			if slices.Contains(allowed, role) != slices.Contains(got, role) {
				t.Errorf("docs/api.md says %s as %s is allowed=%v; the table says %v", rt, role, slices.Contains(got, role), slices.Contains(allowed, role))
			}
		}
	}
}

// An auditor sees what staff see (any account, its history and holds,
// transfers, customer look-ups, reconciliation, job stats) but moves no
// money and changes no account: every such request is 403 forbidden and
// the ledger is as it was. Tellers may void a customer's hold; auditors
// may not.
func TestAuditorReadsButMovesNothing(t *testing.T) {
	e := newEnv(t)
	cara := e.user(t, "cara", bank.Customer)
	teller := e.user(t, "tess", bank.Teller)
	aud := e.user(t, "audrey", bank.Auditor)
	a, b, hold, tr := e.customerMoney(t, cara, teller)
	before := e.account(t, a.Number)

	r := e.do(t, req{Method: "GET", Path: "/v1/me", Token: aud})
	want(t, r, 200, "")
	var me bank.User
	if r.decode(t, &me); me.Role != bank.Auditor {
		t.Fatalf("/v1/me role %q", me.Role)
	}
	for _, p := range []string{"/v1/accounts/" + a.Number, "/v1/accounts/" + a.Number + "/entries", "/v1/accounts/" + a.Number + "/balance",
		"/v1/accounts/" + a.Number + "/holds", "/v1/holds/" + hold.ID, "/v1/transfers/" + tr.ID, "/v1/teller/customers?q=ca", "/v1/admin/jobs"} {
		want(t, e.do(t, req{Method: "GET", Path: p, Token: aud}), 200, "")
	}
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/reconciliation", Token: aud}), 404, "not_found") // allowed; none has run

	move := map[string]any{"from": a.Number, "to": b.Number, "amount": 1_00, "currency": "EUR"}
	cash := map[string]any{"account": a.Number, "amount": 1_00, "currency": "EUR"}
	status := func(action string) string { return "/v1/admin/accounts/" + a.Number + "/" + action }
	for _, rq := range []req{
		{Method: "POST", Path: "/v1/transfers", Key: newKey(), Body: move},
		{Method: "POST", Path: "/v1/holds", Key: newKey(), Body: map[string]any{"account": a.Number, "payee": b.Number, "amount": 1_00, "currency": "EUR"}},
		{Method: "POST", Path: "/v1/holds/" + hold.ID + "/capture", Key: newKey(), Body: map[string]any{}},
		{Method: "POST", Path: "/v1/holds/" + hold.ID + "/void", Key: newKey()},
		{Method: "POST", Path: "/v1/teller/deposits", Key: newKey(), Body: cash},
		{Method: "POST", Path: "/v1/teller/withdrawals", Key: newKey(), Body: cash},
		{Method: "POST", Path: "/v1/standing-orders", Key: newKey(), Body: map[string]any{"from": a.Number, "to": b.Number, "amount": 1_00,
			"currency": "EUR", "frequency": "monthly", "first_date": time.Now().UTC().Format("2006-01-02")}},
		{Method: "POST", Path: "/v1/accounts", Body: map[string]any{"type": "checking", "currency": "EUR"}},
		{Method: "POST", Path: status("freeze")},
		{Method: "POST", Path: status("unfreeze")},
		{Method: "POST", Path: status("close")},
		{Method: "POST", Path: status("overdraft"), Body: map[string]any{"overdraft_limit": 0}},
	} {
		rq.Token = aud
		r := e.do(t, rq)
		if r.Status != 403 || r.problem(t).Code != "forbidden" {
			t.Errorf("auditor %s %s: %d %s, want 403 forbidden", rq.Method, rq.Path, r.Status, r.Body)
		}
	}
	r = e.do(t, req{Method: "POST", Path: status("close"), Token: aud})
	if p := r.problem(t); p.Detail != "this route is for admins" {
		t.Errorf("close as auditor: detail %q", p.Detail)
	}
	after := e.account(t, a.Number)
	if after.Balance != before.Balance || after.Held != before.Held || after.Status != before.Status || after.OverdraftLimit != before.OverdraftLimit {
		t.Fatalf("an auditor changed the account: %+v → %+v", before, after)
	}
	var h bank.Hold
	r = e.do(t, req{Method: "GET", Path: "/v1/holds/" + hold.ID, Token: cara})
	if r.decode(t, &h); h.Status != bank.HoldAuthorized {
		t.Fatalf("hold after the auditor's attempts: %+v", h)
	}
	// What the auditor may not, a teller may: void the hold.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds/" + hold.ID + "/void", Token: teller, Key: newKey()}), 200, "")
	e.balanced(t)
}

// customerMoney gives the customer a checking account a, funded at the
// till, and a savings account b, with a hold and a transfer from a to b:
// something of theirs for every kind of route to touch.
func (e *env) customerMoney(t *testing.T, customer, teller string) (a, b api.AccountView, hold bank.Hold, tr bank.Transfer) {
	t.Helper()
	a = e.open(t, customer, map[string]any{"type": "checking", "currency": "EUR"})
	b = e.open(t, customer, map[string]any{"type": "savings", "currency": "EUR"})
	e.deposit(t, teller, a.Number, 1_000_00, "EUR")
	hold = e.hold(t, customer, map[string]any{"account": a.Number, "payee": b.Number, "amount": 50_00, "currency": "EUR"})
	r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: customer, Key: newKey(),
		Body: map[string]any{"from": a.Number, "to": b.Number, "amount": 10_00, "currency": "EUR"}})
	want(t, r, 201, "")
	r.decode(t, &tr)
	return a, b, hold, tr
}
