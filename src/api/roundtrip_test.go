package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
)

// commandsOf runs do under MONITOR and returns the commands Redis got
// from clients meanwhile (those a script ran left out).
func commandsOf(t *testing.T, e *env, do func()) []string {
	t.Helper()
	mon := e.Pool.Get()
	defer mon.Close()
	if _, err := mon.Do("MONITOR"); err != nil {
		t.Fatal(err)
	}
	do()
	c := e.Pool.Get()
	if _, err := c.Do("ECHO", "roundtrip-test-end"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var cmds []string
	for {
		line, err := redis.String(mon.Receive())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, `"roundtrip-test-end"`) {
			return cmds
		}
		if strings.Contains(line, " lua]") {
			continue
		}
		if _, rest, ok := strings.Cut(line, `] "`); ok {
			name, _, _ := strings.Cut(rest, `"`)
			cmds = append(cmds, strings.ToUpper(name))
		}
	}
}

// A customer's transfer, hold, capture and void are one Redis round trip each, a replay too; every
// other rule still holds (the matrix and hostile-input tests), and a
// token revoked a moment ago is refused by that same step.
func TestTransferAndHoldAreOneRoundTrip(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	teller := e.user(t, "teller", bank.Teller)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})
	e.deposit(t, teller, a.Number, 10_000, "EUR")
	e.skipValidation = true // the document's check is the test client's, not a round trip
	body := map[string]any{"from": a.Number, "to": b.Number, "amount": 250, "currency": "EUR"}
	// The first call of a script after a start loads it (NOSCRIPT, EVAL).
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(), Body: body}), http.StatusCreated, "")
	key := newKey()
	for _, what := range []string{"transfer", "replay"} {
		var r resp
		cmds := commandsOf(t, e, func() { r = e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: key, Body: body}) })
		want(t, r, http.StatusCreated, "")
		if len(cmds) != 1 || cmds[0] != "EVALSHA" {
			t.Errorf("a %s sent %v to Redis, want one EVALSHA", what, cmds)
		}
	}
	if got := e.account(t, a.Number).Balance; got != 10_000-500 {
		t.Errorf("balance %d after two transfers and a replay, want %d", got, 10_000-500)
	}
	// A hold too, and its replay.
	hold := map[string]any{"account": a.Number, "payee": b.Number, "amount": 100, "currency": "EUR"}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds", Token: alice, Key: newKey(), Body: hold}), http.StatusCreated, "")
	key = newKey()
	for _, what := range []string{"hold", "replayed hold"} {
		var r resp
		cmds := commandsOf(t, e, func() { r = e.do(t, req{Method: "POST", Path: "/v1/holds", Token: alice, Key: key, Body: hold}) })
		want(t, r, http.StatusCreated, "")
		if len(cmds) != 1 || cmds[0] != "EVALSHA" {
			t.Errorf("a %s sent %v to Redis, want one EVALSHA", what, cmds)
		}
	}
	if got := e.account(t, a.Number).Held; got != 200 {
		t.Errorf("held %d after two holds and a replay, want 200", got)
	}
	// Capturing and voiding: one round trip each.
	var holds []bank.Hold
	for range 3 {
		r := e.do(t, req{Method: "POST", Path: "/v1/holds", Token: alice, Key: newKey(), Body: hold})
		want(t, r, http.StatusCreated, "")
		var h bank.Hold
		r.decode(t, &h)
		holds = append(holds, h)
	}
	// The first settlement loads the script; void and capture share it.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds/" + holds[2].ID + "/void", Token: alice, Key: newKey()}), http.StatusOK, "")
	for i, end := range []string{"capture", "void"} {
		var r resp
		cmds := commandsOf(t, e, func() {
			r = e.do(t, req{Method: "POST", Path: "/v1/holds/" + holds[i].ID + "/" + end, Token: alice, Key: newKey(), Body: map[string]any{}})
		})
		want(t, r, http.StatusOK, "")
		if len(cmds) != 1 || cmds[0] != "EVALSHA" {
			t.Errorf("a %s sent %v to Redis, want one EVALSHA", end, cmds)
		}
	}
	if got := e.account(t, b.Number).Balance; got != 500+100 {
		t.Errorf("payee balance %d after two transfers and a capture, want 600", got)
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/auth/logout", Token: alice}), http.StatusNoContent, "")
	r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(), Body: body})
	want(t, r, http.StatusUnauthorized, "unauthorized")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds", Token: alice, Key: newKey(), Body: hold}), http.StatusUnauthorized, "unauthorized")
	if got := e.account(t, a.Number); got.Balance != 10_000-600 || got.Held != 200 {
		t.Errorf("a revoked token moved money: %+v", got)
	}
}

// oneEvalsha runs rq under MONITOR and fails unless it got status (and
// code) in exactly one EVALSHA.
func (e *env) oneEvalsha(t *testing.T, what string, rq req, status int, code string) resp {
	t.Helper()
	var r resp
	cmds := commandsOf(t, e, func() { r = e.do(t, rq) })
	want(t, r, status, code)
	if len(cmds) != 1 || cmds[0] != "EVALSHA" {
		t.Errorf("%s sent %v to Redis, want one EVALSHA", what, cmds)
	}
	return r
}

// A teller's deposit and withdrawal, an admin's approval of a reversal,
// their replays and the refusals their script finds are one round trip
// each, the refusals on the audit trail all the same; so are an account's
// reads (the account, a page of history, a balance at an instant) and a
// transfer's, another customer's (404, BOLA) included; a token revoked a
// moment ago is refused there too.
func TestCashApprovalAndAccountReadsAreOneRoundTrip(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	teller := e.user(t, "teller", bank.Teller)
	auditor := e.user(t, "auditor", bank.Auditor)
	tellerID := e.userID(t, teller)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})
	own := e.open(t, teller, map[string]any{"type": "checking", "currency": "EUR"})
	e.skipValidation = true // the document's check is the test client's, not a round trip
	// The first call of each script after a start loads it.
	e.deposit(t, teller, a.Number, 10_000, "EUR")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/accounts/" + a.Number, Token: alice}), http.StatusOK, "")

	cash := map[string]any{"account": a.Number, "amount": 1_000, "currency": "EUR"}
	for _, route := range []string{"deposits", "withdrawals"} {
		key := newKey()
		for _, what := range []string{route, "replayed " + route} {
			r := e.oneEvalsha(t, "a "+what, req{Method: "POST", Path: "/v1/teller/" + route, Token: teller, Key: key, Body: cash}, http.StatusCreated, "")
			if replayed := r.Header.Get("Idempotent-Replayed") == "true"; replayed != strings.HasPrefix(what, "replayed") {
				t.Errorf("a %s answered Idempotent-Replayed %v", what, replayed)
			}
			var tr bank.Transfer
			r.decode(t, &tr)
			if tr.Amount != 1_000 || tr.InitiatedBy != tellerID || r.Header.Get("Location") != "/v1/transfers/"+tr.ID {
				t.Errorf("a %s answered %+v (Location %q)", what, tr, r.Header.Get("Location"))
			}
		}
	}
	if got := e.account(t, a.Number).Balance; got != 10_000 {
		t.Errorf("balance %d after a deposit, a withdrawal and their replays, want 10000", got)
	}

	// The script's refusals, each on the trail with its code, the account
	// and the request id, in the same round trip.
	for i, c := range []struct {
		body   map[string]any
		route  string
		status int
		code   string
	}{
		{map[string]any{"account": own.Number, "amount": 5, "currency": "EUR"}, "deposits", http.StatusForbidden, "own_account"},
		{map[string]any{"account": a.Number, "amount": 1_000_000, "currency": "EUR"}, "withdrawals", http.StatusUnprocessableEntity, "insufficient_funds"},
		{map[string]any{"account": b.Number, "amount": 5, "currency": "USD"}, "deposits", http.StatusUnprocessableEntity, "currency_mismatch"},
		{map[string]any{"account": "", "amount": 5, "currency": "EUR"}, "deposits", http.StatusNotFound, "account_not_found"},
	} {
		if c.code == "account_not_found" {
			c.body["account"] = unknownAccount(t, e)
		}
		rid := fmt.Sprintf("trip-refusal-%d", i)
		e.oneEvalsha(t, "a refused "+c.code, req{Method: "POST", Path: "/v1/teller/" + c.route, Token: teller, Key: newKey(), Body: c.body,
			Header: map[string]string{"X-Request-ID": rid}}, c.status, c.code)
		got := e.lastEntry(t, auditor)
		n := c.body["account"].(string)
		if got.Actor != tellerID || got.Outcome != audit.Refused || got.Code != c.code || got.RequestID != rid || got.Target != n ||
			!slices.Equal(got.Accounts, []string{n}) {
			t.Errorf("refused %s: entry %+v, want the teller's refusal with that code about %s under %s", c.code, got, n, rid)
		}
	}
	// A refusal before the script (a bad field) is audited too, in more
	// round trips.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/deposits", Token: teller, Key: newKey(),
		Body: map[string]any{"account": a.Number, "amount": -5, "currency": "EUR"}}), http.StatusBadRequest, "invalid_amount")
	if got := e.lastEntry(t, auditor); got.Actor != tellerID || got.Outcome != audit.Refused || got.Code != "invalid_amount" {
		t.Errorf("a refused bad amount: entry %+v", got)
	}

	// Reads: the account, a page of history (and the next), a balance.
	accountPath := "/v1/accounts/" + a.Number
	var acct api.AccountView
	e.oneEvalsha(t, "an account read", req{Method: "GET", Path: accountPath, Token: alice}, http.StatusOK, "").decode(t, &acct)
	if acct.Number != a.Number || acct.Balance != 10_000 || acct.Exponent != 2 {
		t.Errorf("account read %+v", acct)
	}
	var page struct {
		Entries []bank.Entry
		Next    string `json:"next_cursor"`
	}
	e.oneEvalsha(t, "a page of history", req{Method: "GET", Path: accountPath + "/entries?limit=2", Token: alice}, http.StatusOK, "").decode(t, &page)
	if len(page.Entries) != 2 || page.Next == "" || page.Entries[0].Amount != -1_000 || page.Entries[0].BalanceAfter != 10_000 {
		t.Errorf("first page %+v", page)
	}
	first := page.Entries[1].ID
	e.oneEvalsha(t, "the next page", req{Method: "GET", Path: accountPath + "/entries?limit=2&cursor=" + page.Next, Token: teller}, http.StatusOK, "").decode(t, &page)
	if len(page.Entries) != 1 || page.Next != "" || !older(page.Entries[0].ID, first) || page.Entries[0].Amount != 10_000 {
		t.Errorf("second page %+v", page)
	}
	var bal api.BalanceView
	e.oneEvalsha(t, "a balance", req{Method: "GET", Path: accountPath + "/balance", Token: alice}, http.StatusOK, "").decode(t, &bal)
	if bal.Balance != 10_000 || bal.Currency != "EUR" || bal.EntryID == "" {
		t.Errorf("balance %+v", bal)
	}
	// Another customer's account is not found, like one that does not exist.
	for _, p := range []string{"", "/entries", "/balance"} {
		e.oneEvalsha(t, "bob's read of alice's account"+p, req{Method: "GET", Path: accountPath + p, Token: bob}, http.StatusNotFound, "account_not_found")
	}
	// An admin's approval of a reversal, its replay, and the four-eyes
	// refusal (on the trail).
	admin := e.user(t, "admin", bank.Admin)
	adminID := e.userID(t, admin)
	r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(), Body: map[string]any{"from": a.Number, "to": b.Number, "amount": 400, "currency": "EUR"}})
	want(t, r, http.StatusCreated, "")
	var tr bank.Transfer
	r.decode(t, &tr)
	// A transfer read: its parties and staff see it, nobody else.
	carol := e.user(t, "carol", bank.Customer)
	want(t, e.do(t, req{Method: "GET", Path: "/v1/transfers/" + tr.ID, Token: alice}), http.StatusOK, "") // loads the script
	for _, token := range []string{alice, bob, auditor} {
		var got bank.Transfer
		e.oneEvalsha(t, "a transfer read", req{Method: "GET", Path: "/v1/transfers/" + tr.ID, Token: token}, http.StatusOK, "").decode(t, &got)
		if got.ID != tr.ID || got.From != a.Number || got.To != b.Number || got.Amount != 400 {
			t.Errorf("transfer read %+v, want %+v", got, tr)
		}
	}
	e.oneEvalsha(t, "carol's read of alice's transfer", req{Method: "GET", Path: "/v1/transfers/" + tr.ID, Token: carol}, http.StatusNotFound, "transfer_not_found")
	e.oneEvalsha(t, "a read of no transfer", req{Method: "GET", Path: "/v1/transfers/tr_" + strings.Repeat("0", 24), Token: alice}, http.StatusNotFound, "transfer_not_found")
	reversal := func(token string) bank.Reversal {
		r := e.do(t, req{Method: "POST", Path: "/v1/admin/reversals", Token: token, Key: newKey(), Body: map[string]any{"transfer_id": tr.ID, "amount": 100, "reason": "test"}})
		want(t, r, http.StatusCreated, "")
		var rv bank.Reversal
		r.decode(t, &rv)
		return rv
	}
	// The first approval loads the script.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/reversals/" + reversal(teller).ID + "/approve", Token: admin, Key: newKey()}), http.StatusOK, "")
	rv := reversal(teller)
	key := newKey()
	for _, what := range []string{"an approval", "a replayed approval"} {
		var got bank.Reversal
		e.oneEvalsha(t, what, req{Method: "POST", Path: "/v1/admin/reversals/" + rv.ID + "/approve", Token: admin, Key: key}, http.StatusOK, "").decode(t, &got)
		if got.ID != rv.ID || got.Status != bank.ReversalApproved || got.DecidedBy != adminID || got.PostingID == "" {
			t.Errorf("%s answered %+v", what, got)
		}
	}
	if got := e.lastEntry(t, auditor); got.Action != audit.ReversalApprove || got.Actor != adminID || got.Outcome != audit.OK || got.Target != rv.ID {
		t.Errorf("the approval's entry %+v", got)
	}
	mine := reversal(admin)
	e.oneEvalsha(t, "an approval of one's own request", req{Method: "POST", Path: "/v1/admin/reversals/" + mine.ID + "/approve", Token: admin, Key: newKey()},
		http.StatusForbidden, "four_eyes")
	if got := e.lastEntry(t, auditor); got.Action != audit.ReversalApprove || got.Outcome != audit.Refused || got.Code != "four_eyes" || got.Target != mine.ID {
		t.Errorf("the refused approval's entry %+v", got)
	}
	if got := e.account(t, b.Number).Balance; got != 400-200 {
		t.Errorf("bob's balance %d after two approved reversals of 100, want 200", got)
	}

	// Bad input is refused after the token, as before.
	want(t, e.do(t, req{Method: "GET", Path: accountPath + "/entries?cursor=nope", Token: alice}), http.StatusBadRequest, "invalid_cursor")
	want(t, e.do(t, req{Method: "GET", Path: accountPath + "/entries?cursor=nope", Token: bob}), http.StatusNotFound, "account_not_found")
	want(t, e.do(t, req{Method: "GET", Path: "/v1/accounts/12/balance", Token: "kbt_" + strings.Repeat("0", 43)}), http.StatusUnauthorized, "unauthorized")

	want(t, e.do(t, req{Method: "POST", Path: "/v1/auth/logout", Token: alice}), http.StatusNoContent, "")
	want(t, e.do(t, req{Method: "GET", Path: accountPath, Token: alice}), http.StatusUnauthorized, "unauthorized")
	want(t, e.do(t, req{Method: "GET", Path: accountPath + "/entries", Token: alice}), http.StatusUnauthorized, "unauthorized")
	e.balanced(t)
}

// unknownAccount is a valid account number that no account has.
func unknownAccount(t *testing.T, e *env) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		n := fmt.Sprintf("%09d", 100_000_000+i)
		n += string(bank.LuhnDigit(n))
		if _, err := e.Ledger.Account(t.Context(), n); errors.Is(err, bank.ErrAccountNotFound) {
			return n
		}
	}
	t.Fatal("no free account number")
	return ""
}
