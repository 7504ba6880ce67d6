package api_test

import (
	"context"
	neturl "net/url"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/bank"
)

// balancePath is the point-in-time balance route of account at t, to the
// nanosecond (a zero t leaves at out: now).
func balancePath(number string, t time.Time) string {
	p := "/v1/accounts/" + number + "/balance"
	if !t.IsZero() {
		p += "?at=" + neturl.QueryEscape(t.Format(time.RFC3339Nano))
	}
	return p
}

// TestBalanceAt: the owner and staff read an account's balance at
// instants between its postings; another customer gets 404 like for the
// account itself, a malformed or future instant is 400 naming at.
func TestBalanceAt(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	teller := e.user(t, "tina", bank.Teller)
	acct := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	opened := time.Now()
	e.deposit(t, teller, acct.Number, 100_00, "EUR")
	time.Sleep(3 * time.Millisecond) // the two entries in different milliseconds
	e.deposit(t, teller, acct.Number, 25_00, "EUR")
	journal, err := e.Ledger.EntriesBetween(context.Background(), acct.Number, time.Time{}, time.Time{})
	if err != nil || len(journal) != 2 {
		t.Fatalf("journal %+v, %v", journal, err)
	}
	first, second := journal[0], journal[1]

	get := func(token string, at time.Time) api.BalanceView {
		t.Helper()
		r := e.do(t, req{Method: "GET", Path: balancePath(acct.Number, at), Token: token})
		want(t, r, 200, "")
		var v api.BalanceView
		r.decode(t, &v)
		if v.Account != acct.Number || v.Currency != "EUR" {
			t.Fatalf("balance of the wrong account: %s", r.Body)
		}
		if !at.IsZero() && !v.At.Equal(at) {
			t.Fatalf("at %v, asked for %v", v.At, at)
		}
		return v
	}
	for _, c := range []struct {
		name    string
		token   string
		at      time.Time
		balance int64
		entry   string
	}{
		{"before the account existed", alice, opened.Add(-time.Hour), 0, ""},
		{"just before the first posting", alice, first.Time.Add(-time.Millisecond), 0, ""},
		{"exactly at the first posting", alice, first.Time, 100_00, first.ID},
		{"between the postings", alice, second.Time.Add(-time.Nanosecond), 100_00, first.ID},
		{"at the second posting", alice, second.Time, 125_00, second.ID},
		{"now (no at)", alice, time.Time{}, 125_00, second.ID},
		{"staff, at the first posting", teller, first.Time, 100_00, first.ID},
		{"staff, now", teller, time.Time{}, 125_00, second.ID},
	} {
		if v := get(c.token, c.at); v.Balance != c.balance || v.EntryID != c.entry {
			t.Errorf("%s: balance %d after %q, want %d after %q", c.name, v.Balance, v.EntryID, c.balance, c.entry)
		}
	}

	// Someone else's account is not found, exactly as the account itself.
	r := e.do(t, req{Method: "GET", Path: balancePath(acct.Number, first.Time), Token: bob})
	want(t, r, 404, "account_not_found")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/accounts/" + acct.Number, Token: bob}), 404, "account_not_found")

	for _, c := range []struct {
		name, query, code string
	}{
		{"not RFC 3339", "?at=yesterday", "invalid_time"},
		{"a date only", "?at=2026-01-31", "invalid_time"},
		{"before 1970", "?at=1900-01-01T00:00:00Z", "invalid_time"},
		{"in the future", "?at=" + neturl.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), "future_time"},
	} {
		r := e.do(t, req{Method: "GET", Path: "/v1/accounts/" + acct.Number + "/balance" + c.query, Token: alice})
		want(t, r, 400, c.code)
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "at" {
			t.Errorf("%s: errors %+v, want the field at", c.name, p.Errors)
		}
	}
	// The account is checked first: a bad at on someone else's account
	// reveals nothing either.
	want(t, e.do(t, req{Method: "GET", Path: "/v1/accounts/" + acct.Number + "/balance?at=yesterday", Token: bob}), 404, "account_not_found")

	want(t, e.do(t, req{Method: "GET", Path: balancePath(acct.Number, time.Time{})}), 401, "unauthorized")
}
