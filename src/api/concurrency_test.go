package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/bank"
)

// TestConcurrentHTTP drives 32 clients doing random transfers, holds,
// captures, voids and replays among 25 accounts in two currencies through
// the HTTP API for a few seconds, then checks the ledger: every currency
// sums to zero, every balance equals its journal and respects its
// overdraft limit, and every acknowledged transfer is in both journals
// exactly once.
func TestConcurrentHTTP(t *testing.T) {
	e := newEnv(t)
	teller := e.user(t, "teller", bank.Teller)
	type acct struct {
		api.AccountView
		owner int
	}
	var tokens []string
	var accts []acct
	for u := 0; u < 5; u++ {
		tok := e.user(t, fmt.Sprintf("cust%d", u), bank.Customer)
		tokens = append(tokens, tok)
		for k := 0; k < 5; k++ {
			cur, overdraft := "EUR", int64(0)
			if k == 4 {
				cur = "USD"
			}
			if k == 0 {
				overdraft = 5_000
			}
			a := e.open(t, tok, map[string]any{"type": "checking", "currency": cur, "overdraft_limit": overdraft})
			e.deposit(t, teller, a.Number, 20_000, cur)
			accts = append(accts, acct{a, u})
		}
	}
	byCur := map[string][]acct{}
	for _, a := range accts {
		byCur[a.Currency] = append(byCur[a.Currency], a)
	}

	type ack struct {
		from, to string
		amount   int64
	}
	var mu sync.Mutex
	acked := map[string]ack{}
	outcomes := map[string]int{}
	record := func(id string, a ack, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			if prev, ok := acked[id]; ok && prev != a {
				t.Errorf("transfer %s acknowledged twice with different content", id)
			}
			acked[id] = a
		}
		if outcome != "" {
			outcomes[outcome]++
		}
	}
	allowed := map[int]map[string]bool{
		201: {"": true}, 200: {"": true},
		422: {"insufficient_funds": true, "hold_not_active": true, "capture_exceeds_hold": true},
	}

	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			user := g % len(tokens)
			tok := tokens[user]
			var mine []acct
			for _, a := range accts {
				if a.owner == user {
					mine = append(mine, a)
				}
			}
			var holds []bank.Hold
			check := func(r resp, what string) bool {
				code := ""
				if r.Status >= 400 {
					code = r.problem(t).Code
				}
				if !allowed[r.Status][code] {
					t.Errorf("%s: unexpected %d %s", what, r.Status, r.Body)
					return false
				}
				record("", ack{}, fmt.Sprintf("%s %d %s", what, r.Status, code))
				return r.Status < 300
			}
			for n := 0; time.Now().Before(deadline); n++ {
				from := mine[rng.IntN(len(mine))]
				peers := byCur[from.Currency]
				to := peers[rng.IntN(len(peers))]
				for to.Number == from.Number {
					to = peers[rng.IntN(len(peers))]
				}
				amount := int64(1 + rng.IntN(3_000))
				switch op := rng.IntN(10); {
				case op < 6: // transfer, sometimes replayed
					key := fmt.Sprintf("g%d-%d", g, n)
					body := map[string]any{"from": from.Number, "to": to.Number, "amount": amount, "currency": from.Currency}
					for try := 0; try < 1+rng.IntN(2); try++ {
						r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: tok, Key: key, Body: body})
						if check(r, "transfer") {
							var tr bank.Transfer
							r.decode(t, &tr)
							record(tr.ID, ack{from.Number, to.Number, amount}, "")
						}
					}
				case op < 8: // authorise a hold
					r := e.do(t, req{Method: "POST", Path: "/v1/holds", Token: tok, Key: fmt.Sprintf("g%d-%d", g, n),
						Body: map[string]any{"account": from.Number, "payee": to.Number, "amount": amount, "currency": from.Currency}})
					if check(r, "hold") {
						var h bank.Hold
						r.decode(t, &h)
						holds = append(holds, h)
					}
				default: // settle a hold: capture part or all, or void
					if len(holds) == 0 {
						continue
					}
					i := rng.IntN(len(holds))
					h := holds[i]
					holds = append(holds[:i], holds[i+1:]...)
					if rng.IntN(4) == 0 {
						check(e.do(t, req{Method: "POST", Path: "/v1/holds/" + h.ID + "/void", Token: tok, Key: fmt.Sprintf("g%d-%d", g, n)}), "void")
						continue
					}
					capAmt := 1 + rng.Int64N(h.Amount)
					r := e.do(t, req{Method: "POST", Path: "/v1/holds/" + h.ID + "/capture", Token: tok, Key: fmt.Sprintf("g%d-%d", g, n),
						Body: map[string]any{"amount": capAmt}})
					if check(r, "capture") {
						var got bank.Hold
						r.decode(t, &got)
						record(got.TransferID, ack{h.Account, h.Payee, capAmt}, "")
					}
				}
			}
		}(g)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rep := e.balanced(t)
	ctx := context.Background()
	for _, a := range accts {
		got := e.account(t, a.Number)
		if got.Balance-got.Held < -got.OverdraftLimit {
			t.Errorf("%s: available %d below overdraft limit -%d", a.Number, got.Balance-got.Held, got.OverdraftLimit)
		}
	}
	seen := map[string]map[string]int64{} // account → transfer id → signed amount
	for _, a := range accts {
		entries, err := e.Ledger.EntriesBetween(ctx, a.Number, time0, time0)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for _, en := range entries {
			if _, dup := m[en.TransferID]; dup {
				t.Errorf("%s: transfer %s twice in the journal", a.Number, en.TransferID)
			}
			m[en.TransferID] = en.Amount
		}
		seen[a.Number] = m
	}
	for id, a := range acked {
		if seen[a.from][id] != -a.amount || seen[a.to][id] != a.amount {
			t.Errorf("acknowledged transfer %s (%+v) is not in the journals exactly as acknowledged: %d / %d", id, a, seen[a.from][id], seen[a.to][id])
		}
	}
	if len(acked) < 200 {
		t.Fatalf("only %d acknowledged transfers: the test proves little (%v)", len(acked), outcomes)
	}
	t.Logf("%d acknowledged transfers and captures, %d journal entries; outcomes %v", len(acked), rep.Entries, outcomes)
}
