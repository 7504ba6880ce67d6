package api_test

import (
	"testing"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// TestExposureLimitsHTTP: the attack from "Banking controls" over HTTP (a
// customer without money opens checking accounts with the full overdraft
// each, to move them into one and withdraw the lot), the account limit,
// and the staff route that changes an overdraft limit within the cap.
func TestExposureLimitsHTTP(t *testing.T) {
	e := newEnv(t)
	mallory := e.user(t, "mallory", bank.Customer)
	carol := e.user(t, "carol", bank.Customer)
	teller := e.user(t, "tom", bank.Teller)
	admin := e.user(t, "ada", bank.Admin)

	full := map[string]any{"type": "checking", "currency": "EUR", "overdraft_limit": 100_000}
	first := e.open(t, mallory, full)
	for i := 0; i < 4; i++ {
		want(t, e.do(t, req{Method: "POST", Path: "/v1/accounts", Token: mallory, Body: full}), 422, "overdraft_cap_exceeded")
	}
	sink := e.open(t, mallory, map[string]any{"type": "checking", "currency": "EUR"})
	usd := e.open(t, mallory, map[string]any{"type": "checking", "currency": "USD", "overdraft_limit": 100_000})
	sav := e.open(t, mallory, map[string]any{"type": "savings", "currency": "EUR"})

	path := func(n string) string { return "/v1/admin/accounts/" + n + "/overdraft" }
	set := func(token, n string, limit any) resp {
		return e.do(t, req{Method: "POST", Path: path(n), Token: token, Body: map[string]any{"overdraft_limit": limit}})
	}
	// Customers get 403 on staff routes, their own accounts included.
	want(t, set(mallory, sink.Number, 100_000), 403, "forbidden")
	want(t, set(carol, sink.Number, 100_000), 403, "forbidden")

	// Limits are for admins; tellers get 403.
	want(t, set(teller, sink.Number, 1), 403, "forbidden")

	// Admins: beyond the customer's total in EUR, 422; moving the limit
	// from one account to another, 200.
	want(t, set(admin, sink.Number, 1), 422, "overdraft_cap_exceeded")
	r := set(admin, first.Number, 40_000)
	want(t, r, 200, "")
	var got bank.Account
	r.decode(t, &got)
	if got.OverdraftLimit != 40_000 || got.Number != first.Number {
		t.Fatalf("after lowering: %+v", got)
	}
	want(t, set(admin, sink.Number, 60_000), 200, "")
	want(t, set(admin, sink.Number, 60_001), 422, "overdraft_cap_exceeded")
	want(t, set(admin, usd.Number, 100_000), 200, "") // the same limit again
	want(t, set(admin, sav.Number, 1), 422, "not_checking_account")
	cash, _ := ledger.SystemAccount(bank.PurposeTellerCash, "EUR")
	want(t, set(admin, cash, 1), 422, "system_account")
	want(t, set(admin, bank.CustomerAccountNumber(999_999), 1), 404, "account_not_found")
	want(t, set(admin, "1234567890", 1), 400, "invalid_account_number")
	want(t, set(admin, sink.Number, -1), 400, "invalid_overdraft_limit")
	want(t, e.do(t, req{Method: "POST", Path: path(sink.Number), Token: admin, Body: map[string]any{}}), 400, "invalid_overdraft_limit")
	want(t, e.do(t, req{Method: "POST", Path: path(sink.Number), Token: admin, Body: map[string]any{"overdraft_limit": 1, "x": 1}}), 400, "unknown_field")
	if a := e.account(t, sink.Number); a.OverdraftLimit != 60_000 {
		t.Fatalf("refusals changed the limit: %d", a.OverdraftLimit)
	}
	// Staff cannot raise their own credit.
	own := e.open(t, admin, map[string]any{"type": "checking", "currency": "EUR"})
	want(t, set(admin, own.Number, 1_000), 403, "own_account")

	// All the credit there is: 400.00 + 600.00, the cap, and not a cent
	// more into the sink or out as cash.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: mallory, Key: newKey(),
		Body: map[string]any{"from": first.Number, "to": sink.Number, "amount": 40_000, "currency": "EUR"}}), 201, "")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/withdrawals", Token: teller, Key: newKey(),
		Body: map[string]any{"account": sink.Number, "amount": 100_001, "currency": "EUR"}}), 422, "insufficient_funds")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/withdrawals", Token: teller, Key: newKey(),
		Body: map[string]any{"account": sink.Number, "amount": 100_000, "currency": "EUR"}}), 201, "")

	// The account limit (10 open by default); closing one frees a place.
	for i := 0; i < 6; i++ {
		e.open(t, mallory, map[string]any{"type": "savings", "currency": "GBP"})
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/accounts", Token: mallory, Body: map[string]any{"type": "savings", "currency": "GBP"}}), 422, "account_limit_reached")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + usd.Number + "/close", Token: admin}), 200, "")
	want(t, set(admin, usd.Number, 0), 422, "account_closed")
	e.open(t, mallory, map[string]any{"type": "savings", "currency": "GBP"})
	e.balanced(t)
}
