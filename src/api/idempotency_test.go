package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
)

// TestIdempotency: a replay returns the first response and moves no
// money; a different body under the same key is a 409; keys are per user.
func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	c := e.user(t, "ida", bank.Customer)
	d := e.user(t, "dan", bank.Customer)
	teller := e.user(t, "ted", bank.Teller)
	a := e.open(t, c, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, d, map[string]any{"type": "checking", "currency": "EUR"})

	// Teller deposit, replayed.
	dep := req{Method: "POST", Path: "/v1/teller/deposits", Token: teller, Key: "dep-1",
		Body: fmt.Sprintf(`{"account":%q,"amount":10000,"currency":"EUR"}`, a.Number)}
	first := e.do(t, dep)
	want(t, first, 201, "")
	dep.Body = fmt.Sprintf(`{ "currency": "EUR", "amount": 10000, "account": %q }`, a.Number) // same request, other spelling
	again := e.do(t, dep)
	want(t, again, 201, "")
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
	}
	if got := e.account(t, a.Number).Balance; got != 10000 {
		t.Fatalf("balance %d after a replayed deposit, want 10000", got)
	}

	// Transfer: first, replay, conflicting body.
	body := map[string]any{"from": a.Number, "to": b.Number, "amount": 2500, "currency": "EUR", "description": "dinner"}
	first = e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "t-1", Body: body})
	want(t, first, 201, "")
	for i := 0; i < 3; i++ {
		r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "t-1", Body: body})
		want(t, r, 201, "")
		if string(r.Body) != string(first.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %d: %s", i, r.Body)
		}
	}
	body["amount"] = 2600
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "t-1", Body: body}), 409, "idempotency_conflict")
	// The same key on another route is a different request too.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds", Token: c, Key: "t-1",
		Body: map[string]any{"account": a.Number, "payee": b.Number, "amount": 2500, "currency": "EUR"}}), 409, "idempotency_conflict")
	if ga, gb := e.account(t, a.Number).Balance, e.account(t, b.Number).Balance; ga != 7500 || gb != 2500 {
		t.Fatalf("balances %d/%d, want 7500/2500", ga, gb)
	}
	// Keys are scoped per user: dan's "t-1" is his own request.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: d, Key: "t-1",
		Body: map[string]any{"from": b.Number, "to": a.Number, "amount": 500, "currency": "EUR"}}), 201, "")

	// A rejected request is not recorded: the same key works once the
	// reason is gone (the client retries after the teller's deposit).
	big := map[string]any{"from": a.Number, "to": b.Number, "amount": 50000, "currency": "EUR"}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "t-big", Body: big}), 422, "insufficient_funds")
	e.deposit(t, teller, a.Number, 50000, "EUR")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "t-big", Body: big}), 201, "")

	// Holds: authorise, capture and void replays.
	hb := map[string]any{"account": a.Number, "payee": b.Number, "amount": 1000, "currency": "EUR"}
	h1 := e.do(t, req{Method: "POST", Path: "/v1/holds", Token: c, Key: "h-1", Body: hb})
	want(t, h1, 201, "")
	h1r := e.do(t, req{Method: "POST", Path: "/v1/holds", Token: c, Key: "h-1", Body: hb})
	if h1r.Status != 201 || string(h1r.Body) != string(h1.Body) {
		t.Fatalf("hold replay: %s vs %s", h1r.Body, h1.Body)
	}
	if held := e.account(t, a.Number).Held; held != 1000 {
		t.Fatalf("held %d after a replayed hold, want 1000", held)
	}
	var hold bank.Hold
	h1.decode(t, &hold)
	capReq := req{Method: "POST", Path: "/v1/holds/" + hold.ID + "/capture", Token: d, Key: "cap-1", Body: `{"amount":400}`}
	c1 := e.do(t, capReq)
	want(t, c1, 200, "")
	c2 := e.do(t, capReq)
	if c2.Status != 200 || string(c2.Body) != string(c1.Body) || c2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("capture replay: %d %s", c2.Status, c2.Body)
	}
	balB := e.account(t, b.Number).Balance
	e.do(t, capReq)
	if e.account(t, b.Number).Balance != balB {
		t.Fatal("a replayed capture moved money")
	}

	// Concurrent duplicates (a client retrying aggressively): exactly one applies.
	before := e.account(t, a.Number).Balance
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "race-1",
				Body: map[string]any{"from": a.Number, "to": b.Number, "amount": 100, "currency": "EUR"}})
			if r.Status != 201 {
				t.Errorf("concurrent duplicate: %d %s", r.Status, r.Body)
				return
			}
			var tr bank.Transfer
			r.decode(t, &tr)
			ids[i] = tr.ID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent duplicates produced different transfers: %v", ids)
		}
	}
	if got := e.account(t, a.Number).Balance; got != before-100 {
		t.Fatalf("balance %d after 16 concurrent duplicates, want %d", got, before-100)
	}
	entries, err := e.Ledger.EntriesBetween(context.Background(), a.Number, time0, time0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range entries {
		if en.TransferID == ids[0] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("transfer %s is in the journal %d times", ids[0], n)
	}
	e.balanced(t)
}

// Concurrent duplicates of one transfer (a client retrying before the
// first answer came back) post it once: one fresh answer, the rest its
// replay, byte for byte, and the money moved once.
func TestConcurrentDuplicateTransfers(t *testing.T) {
	e := newEnv(t)
	c := e.user(t, "ida", bank.Customer)
	d := e.user(t, "dan", bank.Customer)
	teller := e.user(t, "ted", bank.Teller)
	a := e.open(t, c, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, d, map[string]any{"type": "checking", "currency": "EUR"})
	e.deposit(t, teller, a.Number, 10_000, "EUR")
	body := map[string]any{"from": a.Number, "to": b.Number, "amount": 700, "currency": "EUR"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	bodies := map[string]bool{}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "retry-1", Body: body})
			mu.Lock()
			defer mu.Unlock()
			if r.Status != 201 {
				t.Errorf("duplicate: %d %s", r.Status, r.Body)
				return
			}
			if r.Header.Get("Idempotent-Replayed") != "true" {
				fresh++
			}
			bodies[string(r.Body)] = true
		}()
	}
	wg.Wait()
	if fresh != 1 || len(bodies) != 1 {
		t.Fatalf("%d fresh answers, %d different bodies: want one transfer", fresh, len(bodies))
	}
	if got := e.account(t, a.Number).Balance; got != 9_300 {
		t.Fatalf("balance %d, want 9300: the transfer exactly once", got)
	}
}
