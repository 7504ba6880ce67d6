package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

// TestAuthorization: customer A gets 404 (never 403, never data) for
// everything of B's, customers get 403 on staff routes, and no token is 401.
func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	a := e.user(t, "anna", bank.Customer)
	b := e.user(t, "boris", bank.Customer)
	teller := e.user(t, "tom", bank.Teller)
	aAcct := e.open(t, a, map[string]any{"type": "checking", "currency": "EUR"})
	bAcct := e.open(t, b, map[string]any{"type": "checking", "currency": "EUR"})
	bOther := e.open(t, b, map[string]any{"type": "savings", "currency": "EUR"})
	e.deposit(t, teller, bAcct.Number, 500_00, "EUR")
	e.deposit(t, teller, aAcct.Number, 10_00, "EUR")

	// B's own hold and transfer, between B's two accounts.
	hold := e.hold(t, b, map[string]any{"account": bAcct.Number, "payee": bOther.Number, "amount": 50_00, "currency": "EUR"})
	r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: b, Key: newKey(),
		Body: map[string]any{"from": bAcct.Number, "to": bOther.Number, "amount": 10_00, "currency": "EUR"}})
	want(t, r, 201, "")
	var tr bank.Transfer
	r.decode(t, &tr)
	before := e.account(t, bAcct.Number)

	notFound := []req{
		{Method: "GET", Path: "/v1/accounts/" + bAcct.Number},
		{Method: "GET", Path: "/v1/accounts/" + bAcct.Number + "/entries"},
		{Method: "GET", Path: "/v1/accounts/" + bAcct.Number + "/balance"},
		{Method: "GET", Path: "/v1/accounts/" + bAcct.Number + "/holds"},
		{Method: "GET", Path: "/v1/holds/" + hold.ID},
		{Method: "GET", Path: "/v1/transfers/" + tr.ID},
		{Method: "POST", Path: "/v1/transfers", Key: newKey(), Body: map[string]any{"from": bAcct.Number, "to": aAcct.Number, "amount": 100_00, "currency": "EUR"}},
		{Method: "POST", Path: "/v1/holds", Key: newKey(), Body: map[string]any{"account": bAcct.Number, "payee": aAcct.Number, "amount": 100_00, "currency": "EUR"}},
		{Method: "POST", Path: "/v1/holds/" + hold.ID + "/capture", Key: newKey(), Body: map[string]any{}},
		{Method: "POST", Path: "/v1/holds/" + hold.ID + "/void", Key: newKey()},
	}
	for _, rq := range notFound {
		rq.Token = a
		r := e.do(t, rq)
		if r.Status != 404 {
			t.Errorf("%s %s as another customer: %d, want 404: %s", rq.Method, rq.Path, r.Status, r.Body)
			continue
		}
		p := r.problem(t)
		if !strings.HasSuffix(p.Code, "not_found") {
			t.Errorf("%s %s: code %q", rq.Method, rq.Path, p.Code)
		}
		if strings.Contains(string(r.Body), bAcct.Number) && rq.Method == "GET" {
			t.Errorf("%s %s leaks the account: %s", rq.Method, rq.Path, r.Body)
		}
	}
	// The answer for someone else's account is the same as for one that
	// does not exist, so numbers cannot be probed.
	missing := bank.CustomerAccountNumber(999_999)
	r1 := e.do(t, req{Method: "GET", Path: "/v1/accounts/" + missing, Token: a})
	r2 := e.do(t, req{Method: "GET", Path: "/v1/accounts/" + bAcct.Number, Token: a})
	if r1.Status != 404 || r1.problem(t).Code != r2.problem(t).Code || r1.problem(t).Detail != r2.problem(t).Detail {
		t.Fatalf("missing vs foreign account differ: %s / %s", r1.Body, r2.Body)
	}

	staff := []req{
		{Method: "POST", Path: "/v1/teller/deposits", Key: newKey(), Body: map[string]any{"account": aAcct.Number, "amount": 1_000_00, "currency": "EUR"}},
		{Method: "POST", Path: "/v1/teller/withdrawals", Key: newKey(), Body: map[string]any{"account": bAcct.Number, "amount": 1_00, "currency": "EUR"}},
		{Method: "GET", Path: "/v1/teller/customers?q=bo"},
		{Method: "POST", Path: "/v1/admin/accounts/" + bAcct.Number + "/freeze"},
		{Method: "POST", Path: "/v1/admin/accounts/" + aAcct.Number + "/unfreeze"},
		{Method: "POST", Path: "/v1/admin/accounts/" + aAcct.Number + "/close"},
	}
	for _, rq := range staff {
		rq.Token = a
		r := e.do(t, rq)
		if r.Status != 403 || r.problem(t).Code != "forbidden" {
			t.Errorf("customer %s %s: %d %s, want 403 forbidden", rq.Method, rq.Path, r.Status, r.Body)
		}
	}
	// No or bad token: 401 everywhere behind auth.
	for _, tok := range []string{"", "kbt_" + strings.Repeat("A", 43), "garbage", a + "x"} {
		r := e.do(t, req{Method: "GET", Path: "/v1/accounts/" + aAcct.Number, Token: tok})
		want(t, r, 401, "unauthorized")
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/me", Header: map[string]string{"Authorization": "Basic YTpi"}})
	want(t, r, 401, "unauthorized")

	// Nothing moved: B's balance and hold are as they were, and A got nothing.
	after := e.account(t, bAcct.Number)
	if after.Balance != before.Balance || after.Held != before.Held || after.Status != bank.Active {
		t.Fatalf("B's account changed: %+v → %+v", before, after)
	}
	if got := e.account(t, aAcct.Number); got.Balance != 10_00 || got.Status != bank.Active {
		t.Fatalf("A's account changed: %+v", got)
	}
	// Staff can see B's account (tellers serve every customer).
	want(t, e.do(t, req{Method: "GET", Path: "/v1/accounts/" + bAcct.Number, Token: teller}), 200, "")
	e.balanced(t)
}

// Staff cannot deal with their own money at the counter, nor grant
// themselves credit or interest: the customer caps apply to them too.
func TestStaffCannotSelfDeal(t *testing.T) {
	e := newEnv(t)
	teller := e.user(t, "tess", bank.Teller)
	admin := e.user(t, "adam", bank.Admin)
	own := e.open(t, teller, map[string]any{"type": "checking", "currency": "EUR"})
	for _, rq := range []req{
		{Method: "POST", Path: "/v1/teller/deposits", Key: newKey(), Body: map[string]any{"account": own.Number, "amount": 1_000_00, "currency": "EUR"}},
		{Method: "POST", Path: "/v1/teller/withdrawals", Key: newKey(), Body: map[string]any{"account": own.Number, "amount": 1, "currency": "EUR"}},
		{Method: "POST", Path: "/v1/admin/accounts/" + own.Number + "/freeze"},
	} {
		rq.Token = teller
		want(t, e.do(t, rq), 403, "own_account")
	}
	adminsOwn := e.open(t, admin, map[string]any{"type": "checking", "currency": "EUR"})
	for _, action := range []string{"freeze", "unfreeze", "close"} {
		want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + adminsOwn.Number + "/" + action, Token: admin}), 403, "own_account")
	}
	if a := e.account(t, own.Number); a.Balance != 0 || a.Status != bank.Active {
		t.Fatalf("own account changed: %+v", a)
	}
	// Another staff member may serve the account.
	e.deposit(t, admin, own.Number, 5_00, "EUR")
	if a := e.account(t, own.Number); a.Balance != 5_00 {
		t.Fatalf("deposit by another teller: balance %d", a.Balance)
	}
	for _, body := range []map[string]any{
		{"type": "checking", "currency": "EUR", "overdraft_limit": 1_000_000_000},
		{"type": "savings", "currency": "EUR", "interest_rate_bps": 10_000},
	} {
		r := e.do(t, req{Method: "POST", Path: "/v1/accounts", Token: teller, Body: body})
		if r.Status != 400 {
			t.Errorf("teller opening %v: %d %s, want 400", body, r.Status, r.Body)
		}
	}
}

// Interest and standing-order postings are made by jobs; the journal
// shows their ids, so the owner can open them too.
func TestJobTransferIDsAreVisible(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alina", bank.Customer)
	bob := e.user(t, "bert", bank.Customer)
	a := e.open(t, alice, map[string]any{"type": "savings", "currency": "EUR"})
	exp, _ := ledger.SystemAccount(bank.PurposeInterestExpense, "EUR")
	tr, _, err := e.Ledger.Post(context.Background(), ledger.Posting{From: exp, To: a.Number, Amount: 7, Currency: "EUR", Kind: bank.PostingInterest, InitiatedBy: "system"})
	if err != nil {
		t.Fatal(err)
	}
	id := tr.ID
	r := e.do(t, req{Method: "GET", Path: "/v1/transfers/" + id, Token: alice})
	want(t, r, 200, "")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/transfers/" + id, Token: bob}), 404, "transfer_not_found")
}

// Staff see every account but spend nobody's money: transfers and holds
// go out of the caller's own accounts only, and a hold is captured by its
// payer or payee. Staff may still void a hold (that moves nothing).
func TestStaffCannotMoveCustomersMoney(t *testing.T) {
	e := newEnv(t)
	teller := e.user(t, "tess", bank.Teller)
	admin := e.user(t, "adam", bank.Admin)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})
	mine := e.open(t, teller, map[string]any{"type": "checking", "currency": "EUR"})
	e.deposit(t, admin, a.Number, 500_00, "EUR")
	hold := e.hold(t, alice, map[string]any{"account": a.Number, "payee": b.Number, "amount": 100_00, "currency": "EUR"})
	before := e.account(t, a.Number)

	for _, staff := range []string{teller, admin} {
		for _, rq := range []req{
			{Method: "POST", Path: "/v1/transfers", Key: newKey(), Body: map[string]any{"from": a.Number, "to": mine.Number, "amount": 400_00, "currency": "EUR"}},
			{Method: "POST", Path: "/v1/holds", Key: newKey(), Body: map[string]any{"account": a.Number, "payee": mine.Number, "amount": 300_00, "currency": "EUR"}},
			{Method: "POST", Path: "/v1/holds/" + hold.ID + "/capture", Key: newKey(), Body: map[string]any{}},
		} {
			rq.Token = staff
			want(t, e.do(t, rq), 403, "not_account_owner")
		}
	}
	if after := e.account(t, a.Number); after.Balance != before.Balance || after.Held != before.Held {
		t.Fatalf("customer's account changed: before %+v after %+v", before, after)
	}
	if m := e.account(t, mine.Number); m.Balance != 0 {
		t.Fatalf("teller's account received %d", m.Balance)
	}
	r := e.do(t, req{Method: "POST", Path: "/v1/holds/" + hold.ID + "/void", Token: teller, Key: newKey()})
	want(t, r, 200, "")
	if after := e.account(t, a.Number); after.Held != 0 || after.Balance != before.Balance {
		t.Fatalf("after a staff void: %+v", after)
	}
}

// A transfer an older release stored (its own hash, a tr_<24 hex> id)
// is served as before, to its parties and staff only; a transfer id of
// the journal's form that names no sender's entry is 404.
func TestLegacyTransferIsServed(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alina", bank.Customer)
	bob := e.user(t, "bert", bank.Customer)
	admin := e.user(t, "adam", bank.Admin)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})
	c := e.Pool.Get()
	defer c.Close()
	// The fields release f02ea3b's record_transfer wrote.
	id := "tr_0123456789abcdef01234567"
	if _, err := c.Do("HSET", keyspace.Transfer+id, "id", id, "kind", "transfer", "from", a.Number, "to", b.Number, "amount", "1234",
		"currency", "EUR", "desc", "old rent", "by", "u_old", "status", "completed", "created", "1764000000000"); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, req{Method: "GET", Path: "/v1/transfers/" + id, Token: bob})
	want(t, r, 200, "")
	var tr bank.Transfer
	if err := json.Unmarshal(r.Body, &tr); err != nil || tr.ID != id || tr.Amount != 1234 || tr.Description != "old rent" || tr.From != a.Number {
		t.Fatalf("legacy transfer %s: %+v %v", r.Body, tr, err)
	}
	want(t, e.do(t, req{Method: "GET", Path: "/v1/transfers/" + id, Token: admin}), 200, "")
	carol := e.user(t, "carol", bank.Customer)
	want(t, e.do(t, req{Method: "GET", Path: "/v1/transfers/" + id, Token: carol}), 404, "transfer_not_found")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/transfers/tr_" + a.Number + "_1-0", Token: alice}), 404, "transfer_not_found")
}

// The ids GET /v1/transfers/{id} accepts are the OpenAPI document's
// TransferID, and both take every form a posting has had.
func TestTransferIDShapes(t *testing.T) {
	if !strings.Contains(string(api.OpenAPI), "pattern: '"+api.TransferIDs.String()+"'") {
		t.Fatalf("openapi.yaml's TransferID pattern is not the API's %s", api.TransferIDs)
	}
	for id, ok := range map[string]bool{
		"tr_1000000016_1764597000123-0":           true,
		"tr_0123456789abcdef01234567":             true,
		"in_1000000016_2026-01-31":                true,
		"so_0123456789abcdef01234567_2026-01-31":  true,
		"tr_100000001_1764597000123-0":            false, // nine digits
		"tr_1000000016_1764597000123":             false, // no sequence
		"tr_1000000016_1764597000123-0/../x":      false,
		"tr_1000000016_17645970001231234567890-0": false, // 23 digits
		"tr_1000000016_1764597000123-12":          true,
		"tr_1000000016_01764597000123-0":          false, // the same entry to Redis: one name per posting
		"tr_1000000016_1764597000123-00":          false,
		"tr_1000000016_1764597000123-012":         false,
	} {
		if api.TransferIDs.MatchString(id) != ok {
			t.Errorf("%s: accepted %v, want %v", id, !ok, ok)
		}
	}
}
