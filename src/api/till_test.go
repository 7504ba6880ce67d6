package api_test

import (
	"net/http"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
)

// A teller's till: today's own cash in and out per currency and the
// accounts served; another teller's work is not in it, and customers and
// auditors may not ask.
func TestTellerTill(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	tina, tom := e.user(t, "tina", bank.Teller), e.user(t, "tom", bank.Teller)
	e.deposit(t, tina, a.Number, 5_000, "EUR")
	e.deposit(t, tom, a.Number, 700, "EUR")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/withdrawals", Token: tina, Key: newKey(),
		Body: map[string]any{"account": a.Number, "amount": 1_200, "currency": "EUR"}}), 201, "")

	r := e.do(t, req{Method: "GET", Path: "/v1/teller/till", Token: tina})
	want(t, r, http.StatusOK, "")
	var till struct {
		Totals []struct {
			Currency              string
			Deposits, Withdrawals int64
			Postings              int
		}
		Accounts []string
	}
	r.decode(t, &till)
	if len(till.Totals) != 1 || till.Totals[0].Currency != "EUR" || till.Totals[0].Deposits != 5_000 ||
		till.Totals[0].Withdrawals != 1_200 || till.Totals[0].Postings != 2 {
		t.Fatalf("tina's till %+v, want EUR in 5000, out 1200, 2 postings", till.Totals)
	}
	if len(till.Accounts) != 1 || till.Accounts[0] != a.Number {
		t.Fatalf("accounts served %v, want %s", till.Accounts, a.Number)
	}
	want(t, e.do(t, req{Method: "GET", Path: "/v1/teller/till?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", Token: tina}), 400, "invalid_time")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/teller/till?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", Token: tina}), 400, "invalid_time")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/teller/till", Token: alice}), 403, "forbidden")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/teller/till", Token: e.user(t, "audrey", bank.Auditor)}), 403, "forbidden")
}
