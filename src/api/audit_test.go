package api_test

import (
	"fmt"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// userID is the id of the user a token belongs to.
func (e *env) userID(t testing.TB, token string) string {
	t.Helper()
	r := e.do(t, req{Method: "GET", Path: "/v1/me", Token: token})
	want(t, r, http.StatusOK, "")
	var u bank.User
	r.decode(t, &u)
	return u.ID
}

// auditPage reads GET /v1/admin/audit with query q as token.
func (e *env) auditPage(t testing.TB, token string, q neturl.Values) audit.Page {
	t.Helper()
	r := e.do(t, req{Method: "GET", Path: "/v1/admin/audit?" + q.Encode(), Token: token})
	want(t, r, http.StatusOK, "")
	var p audit.Page
	r.decode(t, &p)
	return p
}

// lastEntry is the newest entry of the trail.
func (e *env) lastEntry(t testing.TB, token string) bank.AuditEntry {
	t.Helper()
	p := e.auditPage(t, token, neturl.Values{"limit": {"1"}})
	if len(p.Entries) != 1 {
		t.Fatalf("the audit trail is empty")
	}
	return p.Entries[0]
}

// Every route that only staff may use to change something is audited:
// a new staff action cannot be added without an audit action.
func TestEveryStaffWriteIsAudited(t *testing.T) {
	for route, roles := range api.Permissions {
		method, _, _ := strings.Cut(route, " ")
		_, audited := api.AuditActions[route]
		staffOnly := !slices.Contains(roles, bank.Customer)
		if method != http.MethodGet && staffOnly && !audited {
			t.Errorf("%s changes something, only staff may use it, and it is not audited (api.auditActions)", route)
		}
	}
	for route := range api.AuditActions {
		if _, ok := api.Permissions[route]; !ok {
			t.Errorf("audited route %s is no route of the permission table", route)
		}
	}
}

// Each staff action writes one entry saying who did what to which
// account under which request id, and what it changed.
func TestStaffActionsWriteTheirEntry(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	teller := e.user(t, "teller", bank.Teller)
	admin1 := e.user(t, "admin1", bank.Admin)
	admin2 := e.user(t, "admin2", bank.Admin)
	auditor := e.user(t, "auditor", bank.Auditor)
	tellerID, admin1ID, admin2ID := e.userID(t, teller), e.userID(t, admin1), e.userID(t, admin2)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})

	var seq int
	// act sends rq with a request id of its own and checks the entry it
	// wrote: the newest, with these fields and details.
	act := func(rq req, status int, action, actor string, role bank.Role, target string, accounts []string, detail map[string]string) resp {
		t.Helper()
		seq++
		rid := fmt.Sprintf("audit-test-%d", seq)
		rq.Header = map[string]string{"X-Request-ID": rid}
		r := e.do(t, rq)
		want(t, r, status, "")
		got := e.lastEntry(t, auditor)
		if got.Action != action || got.Actor != actor || got.Role != role || got.Outcome != audit.OK || got.RequestID != rid {
			t.Errorf("%s %s: entry %+v, want action %s by %s (%s), outcome ok, request id %s", rq.Method, rq.Path, got, action, actor, role, rid)
		}
		if target != "" && got.Target != target {
			t.Errorf("%s: target %q, want %q", action, got.Target, target)
		}
		if !slices.Equal(slices.Sorted(slices.Values(got.Accounts)), slices.Sorted(slices.Values(accounts))) {
			t.Errorf("%s: accounts %v, want %v", action, got.Accounts, accounts)
		}
		for k, v := range detail {
			if got.Detail[k] != v {
				t.Errorf("%s: detail %s = %q, want %q (detail %v)", action, k, got.Detail[k], v, got.Detail)
			}
		}
		if time.Since(got.At) > time.Minute || got.At.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: entry time %v is not now", action, got.At)
		}
		return r
	}

	cash := map[string]any{"account": a.Number, "amount": 5000, "currency": "EUR"}
	r := act(req{Method: "POST", Path: "/v1/teller/deposits", Token: teller, Key: newKey(), Body: cash}, http.StatusCreated,
		audit.CashDeposit, tellerID, bank.Teller, a.Number, []string{a.Number}, map[string]string{"amount": "5000", "currency": "EUR"})
	var dep bank.Transfer
	r.decode(t, &dep)
	if got := e.lastEntry(t, auditor).Detail["transfer"]; got != dep.ID {
		t.Errorf("deposit entry names transfer %q, want %q", got, dep.ID)
	}
	cash["amount"] = 700
	act(req{Method: "POST", Path: "/v1/teller/withdrawals", Token: teller, Key: newKey(), Body: cash}, http.StatusCreated,
		audit.CashWithdrawal, tellerID, bank.Teller, a.Number, []string{a.Number}, map[string]string{"amount": "700"})
	status := func(action string) string { return "/v1/admin/accounts/" + b.Number + "/" + action }
	act(req{Method: "POST", Path: status("freeze"), Token: teller}, http.StatusOK,
		audit.AccountFreeze, tellerID, bank.Teller, b.Number, []string{b.Number}, map[string]string{"from": "active", "to": "frozen"})
	act(req{Method: "POST", Path: status("unfreeze"), Token: admin1}, http.StatusOK,
		audit.AccountUnfreeze, admin1ID, bank.Admin, b.Number, []string{b.Number}, map[string]string{"from": "frozen", "to": "active"})
	act(req{Method: "POST", Path: status("overdraft"), Token: admin1, Body: map[string]any{"overdraft_limit": 20000}}, http.StatusOK,
		audit.AccountOverdraft, admin1ID, bank.Admin, b.Number, []string{b.Number}, map[string]string{"to": "20000", "currency": "EUR"})

	r = e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(), Body: map[string]any{"from": a.Number, "to": b.Number, "amount": 1000, "currency": "EUR"}})
	want(t, r, http.StatusCreated, "")
	var tr bank.Transfer
	r.decode(t, &tr)
	if got := e.lastEntry(t, auditor); got.Detail["transfer"] == tr.ID {
		t.Errorf("a customer's transfer is on the audit trail: %+v", got)
	}
	r = act(req{Method: "POST", Path: "/v1/admin/reversals", Token: teller, Key: newKey(), Body: map[string]any{"transfer_id": tr.ID, "amount": 400, "reason": "wrong payee"}},
		http.StatusCreated, audit.ReversalRequest, tellerID, bank.Teller, tr.ID, []string{a.Number, b.Number}, map[string]string{"amount": "400", "reason": "wrong payee", "transfer": tr.ID})
	var rv bank.Reversal
	r.decode(t, &rv)
	r = act(req{Method: "POST", Path: "/v1/admin/reversals/" + rv.ID + "/approve", Token: admin1, Key: newKey()}, http.StatusOK,
		audit.ReversalApprove, admin1ID, bank.Admin, rv.ID, []string{a.Number, b.Number}, map[string]string{"reversal": rv.ID, "amount": "400"})
	r.decode(t, &rv)
	if got := e.lastEntry(t, auditor).Detail["posting"]; got == "" || got != rv.PostingID {
		t.Errorf("approval entry names posting %q, want the reversal's %q", got, rv.PostingID)
	}
	r = e.do(t, req{Method: "POST", Path: "/v1/admin/reversals", Token: teller, Key: newKey(), Body: map[string]any{"transfer_id": tr.ID, "amount": 100, "reason": "again"}})
	want(t, r, http.StatusCreated, "")
	r.decode(t, &rv)
	act(req{Method: "POST", Path: "/v1/admin/reversals/" + rv.ID + "/reject", Token: admin2, Body: map[string]any{"reason": "not needed"}}, http.StatusOK,
		audit.ReversalReject, admin2ID, bank.Admin, rv.ID, []string{a.Number, b.Number}, map[string]string{"reason": "not needed"})

	r = act(req{Method: "POST", Path: "/v1/admin/users", Token: admin1, Body: map[string]any{"username": "new-teller", "password": "password-123", "role": "teller"}},
		http.StatusCreated, audit.UserCreate, admin1ID, bank.Admin, "", nil, map[string]string{"username": "new-teller", "role": "teller"})
	var nu bank.User
	r.decode(t, &nu)
	if got := e.lastEntry(t, auditor); got.Target != nu.ID {
		t.Errorf("user.create target %q, want the new user %q", got.Target, nu.ID)
	}
	act(req{Method: "POST", Path: "/v1/admin/users/" + nu.ID + "/role", Token: admin2, Body: map[string]any{"role": "admin"}}, http.StatusOK,
		audit.UserRole, admin2ID, bank.Admin, nu.ID, nil, map[string]string{"from": "teller", "to": "admin"})

	// Close last: the account must be empty, so pay out what it holds.
	acc := e.account(t, b.Number)
	cash = map[string]any{"account": b.Number, "amount": acc.Balance, "currency": "EUR"}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/withdrawals", Token: teller, Key: newKey(), Body: cash}), http.StatusCreated, "")
	act(req{Method: "POST", Path: status("close"), Token: admin2}, http.StatusOK,
		audit.AccountClose, admin2ID, bank.Admin, b.Number, []string{b.Number}, map[string]string{"from": "active", "to": "closed"})

	// A replay is not a second action: no second entry.
	before := e.auditPage(t, auditor, neturl.Values{"limit": {"200"}})
	key := newKey()
	cash = map[string]any{"account": a.Number, "amount": 1, "currency": "EUR"}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/deposits", Token: teller, Key: key, Body: cash}), http.StatusCreated, "")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/deposits", Token: teller, Key: key, Body: cash}), http.StatusCreated, "")
	if after := e.auditPage(t, auditor, neturl.Values{"limit": {"200"}}); len(after.Entries) != len(before.Entries)+1 {
		t.Errorf("a deposit and its replay wrote %d entries, want 1", len(after.Entries)-len(before.Entries))
	}
	e.balanced(t)
}

// Refused attempts at staff actions are on the trail with their problem
// code: the wrong role (a customer's try too), the four-eyes rule, the
// funds rule.
func TestRefusedStaffAttemptsAreAudited(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	teller := e.user(t, "teller", bank.Teller)
	admin := e.user(t, "admin", bank.Admin)
	auditor := e.user(t, "auditor", bank.Auditor)
	a := e.open(t, alice, map[string]any{"type": "savings", "currency": "EUR"})
	refused := func(rq req, status int, code, action, actor string) {
		t.Helper()
		r := e.do(t, rq)
		want(t, r, status, code)
		got := e.lastEntry(t, auditor)
		if got.Action != action || got.Actor != actor || got.Outcome != audit.Refused || got.Code != code {
			t.Errorf("%s %s refused with %s: entry %+v, want %s by %s refused with that code", rq.Method, rq.Path, code, got, action, actor)
		}
	}
	refused(req{Method: "POST", Path: "/v1/admin/accounts/" + a.Number + "/freeze", Token: alice}, http.StatusForbidden, "forbidden", audit.AccountFreeze, e.userID(t, alice))
	refused(req{Method: "POST", Path: "/v1/admin/accounts/" + a.Number + "/unfreeze", Token: teller}, http.StatusForbidden, "forbidden", audit.AccountUnfreeze, e.userID(t, teller))
	refused(req{Method: "POST", Path: "/v1/teller/deposits", Token: auditor, Key: newKey(), Body: map[string]any{"account": a.Number, "amount": 5, "currency": "EUR"}},
		http.StatusForbidden, "forbidden", audit.CashDeposit, e.userID(t, auditor))
	refused(req{Method: "POST", Path: "/v1/teller/withdrawals", Token: teller, Key: newKey(), Body: map[string]any{"account": a.Number, "amount": 5, "currency": "EUR"}},
		http.StatusUnprocessableEntity, "insufficient_funds", audit.CashWithdrawal, e.userID(t, teller))
	if got := e.lastEntry(t, auditor).Accounts; !slices.Equal(got, []string{a.Number}) {
		t.Errorf("the refused withdrawal's entry concerns %v, want %s", got, a.Number)
	}
	e.deposit(t, teller, a.Number, 1000, "EUR")
	r := e.do(t, req{Method: "GET", Path: "/v1/accounts/" + a.Number + "/entries", Token: alice})
	want(t, r, http.StatusOK, "")
	var page struct{ Entries []bank.Entry }
	r.decode(t, &page)
	r = e.do(t, req{Method: "POST", Path: "/v1/admin/reversals", Token: admin, Key: newKey(), Body: map[string]any{"transfer_id": page.Entries[0].TransferID, "reason": "test"}})
	want(t, r, http.StatusCreated, "")
	var rv bank.Reversal
	r.decode(t, &rv)
	refused(req{Method: "POST", Path: "/v1/admin/reversals/" + rv.ID + "/approve", Token: admin, Key: newKey()}, http.StatusForbidden, "four_eyes",
		audit.ReversalApprove, e.userID(t, admin))
	refused(req{Method: "POST", Path: "/v1/admin/users/" + e.userID(t, admin) + "/role", Token: admin, Body: map[string]any{"role": "customer"}},
		http.StatusForbidden, "own_user", audit.UserRole, e.userID(t, admin))
	// Reads are not actions: a refused read writes nothing.
	before := e.lastEntry(t, auditor).ID
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/reconciliation", Token: teller}), http.StatusForbidden, "forbidden")
	if got := e.lastEntry(t, auditor).ID; got != before {
		t.Errorf("a refused read wrote entry %s", got)
	}
}

// The trail reads by actor, by account, by both and by time range, in
// pages that together give every entry once, newest first; tellers and
// customers may not read it.
func TestAuditTrailFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	t1 := e.user(t, "teller1", bank.Teller)
	t2 := e.user(t, "teller2", bank.Teller)
	admin := e.user(t, "admin", bank.Admin)
	auditor := e.user(t, "auditor", bank.Auditor)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, alice, map[string]any{"type": "savings", "currency": "EUR"})
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/audit", Token: t1}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/audit", Token: alice}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/audit?cursor=abc", Token: admin}), http.StatusBadRequest, "invalid_cursor")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/audit?limit=0", Token: admin}), http.StatusBadRequest, "invalid_limit")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/audit?account=123", Token: admin}), http.StatusBadRequest, "invalid_account_number")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/admin/audit?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", Token: admin}), http.StatusBadRequest, "invalid_time")

	// 3 deposits by teller1 into a, 2 by teller2 into a, 2 by teller2 into b.
	start := time.Now().Add(-time.Second)
	for _, d := range []struct {
		token, account string
		n              int
	}{{t1, a.Number, 3}, {t2, a.Number, 2}, {t2, b.Number, 2}} {
		for range d.n {
			e.deposit(t, d.token, d.account, 100, "EUR")
		}
	}
	id1, id2 := e.userID(t, t1), e.userID(t, t2)
	count := func(q neturl.Values) int {
		t.Helper()
		var all []bank.AuditEntry
		q.Set("limit", "2")
		for range 20 {
			p := e.auditPage(t, auditor, q)
			all = append(all, p.Entries...)
			if p.Next == "" {
				break
			}
			q.Set("cursor", p.Next)
		}
		for i := 1; i < len(all); i++ {
			if !older(all[i].ID, all[i-1].ID) {
				t.Errorf("entries not newest first, or repeated: %s after %s", all[i].ID, all[i-1].ID)
			}
		}
		for _, en := range all {
			if q.Get("actor") != "" && en.Actor != q.Get("actor") || q.Get("account") != "" && !slices.Contains(en.Accounts, q.Get("account")) {
				t.Errorf("filter %v returned %+v", q, en)
			}
		}
		return len(all)
	}
	for _, c := range []struct {
		q    neturl.Values
		want int
	}{
		{neturl.Values{}, 7},
		{neturl.Values{"actor": {id1}}, 3},
		{neturl.Values{"actor": {id2}}, 4},
		{neturl.Values{"account": {a.Number}}, 5},
		{neturl.Values{"account": {b.Number}}, 2},
		{neturl.Values{"account": {a.Number}, "actor": {id2}}, 2},
		{neturl.Values{"from": {start.UTC().Format(time.RFC3339)}}, 7},
		{neturl.Values{"to": {start.UTC().Format(time.RFC3339)}}, 0},
		{neturl.Values{"actor": {"u_nobody"}}, 0},
	} {
		if got := count(c.q); got != c.want {
			t.Errorf("audit %v: %d entries, want %d", c.q, got, c.want)
		}
	}
}

// older reports whether stream id a is before b.
func older(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am < bm || am == bm && as < bs
}

// Under concurrent cash at many tills the trail holds exactly one entry
// per posted deposit, the sum of their amounts is what the tills paid in,
// and every refusal is there too: entries and postings are written in
// one step, so neither can exist without the other.
func TestAuditTrailMatchesTheLedgerUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	auditor := e.user(t, "auditor", bank.Auditor)
	alice := e.user(t, "alice", bank.Customer)
	var accounts []string
	for range 4 {
		accounts = append(accounts, e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"}).Number)
	}
	var tellers []string
	for i := range 4 {
		tellers = append(tellers, e.user(t, fmt.Sprintf("teller%d", i), bank.Teller))
	}
	const perTeller = 25
	var (
		mu               sync.Mutex
		posted, refusals int
		sum              int64
		wg               sync.WaitGroup
	)
	for i, tok := range tellers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perTeller {
				amount := int64(1 + (i*perTeller+j)%50)
				path := "/v1/teller/deposits"
				if j%5 == 4 { // a withdrawal larger than any balance: refused
					path, amount = "/v1/teller/withdrawals", 1_000_000_00
				}
				r := e.do(t, req{Method: "POST", Path: path, Token: tok, Key: newKey(),
					Body: map[string]any{"account": accounts[j%len(accounts)], "amount": amount, "currency": "EUR"}})
				mu.Lock()
				switch r.Status {
				case http.StatusCreated:
					posted++
					sum += amount
				case http.StatusUnprocessableEntity:
					refusals++
				default:
					t.Errorf("%s: %d %s", path, r.Status, r.Body)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	var entries []bank.AuditEntry
	q := neturl.Values{"limit": {"200"}}
	for {
		p := e.auditPage(t, auditor, q)
		entries = append(entries, p.Entries...)
		if p.Next == "" {
			break
		}
		q.Set("cursor", p.Next)
	}
	var okDeposits, refused int
	var auditedSum int64
	for _, en := range entries {
		switch {
		case en.Action == audit.CashDeposit && en.Outcome == audit.OK:
			okDeposits++
			var n int64
			fmt.Sscan(en.Detail["amount"], &n)
			auditedSum += n
		case en.Action == audit.CashWithdrawal && en.Outcome == audit.Refused && en.Code == "insufficient_funds":
			refused++
		}
	}
	if okDeposits != posted || auditedSum != sum || refused != refusals {
		t.Errorf("trail: %d deposits of %d in all and %d refusals; ledger: %d deposits of %d, %d refusals", okDeposits, auditedSum, refused, posted, sum, refusals)
	}
	cash, err := ledger.SystemAccount(bank.PurposeTellerCash, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.account(t, cash).Balance; got != -sum {
		t.Errorf("teller cash balance %d, want %d", got, -sum)
	}
	e.balanced(t)
}
