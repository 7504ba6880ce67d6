package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

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
