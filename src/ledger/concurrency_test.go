package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// TestConcurrentPostingsKeepInvariants hammers the ledger from 32
// goroutines with random transfers, holds, captures, voids and replays of
// idempotency keys among 24 accounts in two currencies, then checks every
// invariant the bank promises.
func TestConcurrentPostingsKeepInvariants(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	var accts []bank.Account
	for i := 0; i < 24; i++ {
		cur := "EUR"
		if i%3 == 0 {
			cur = "USD"
		}
		a := open(t, l, fmt.Sprintf("u%d", i%6), bank.Checking, cur, int64(i%4)*1000)
		deposit(t, l, a.Number, 5000, cur)
		accts = append(accts, a)
	}
	byCur := map[string][]bank.Account{}
	for _, a := range accts {
		byCur[a.Currency] = append(byCur[a.Currency], a)
	}

	var (
		mu    sync.Mutex
		acked = map[string]int{} // transfer id → times acknowledged as new
		stats = map[string]int{}
	)
	ack := func(id string, replay bool, err error, op string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			if bank.ErrorKind(err) == bank.KindInternal {
				t.Errorf("%s: internal error %v", op, err)
			}
			stats[op+":"+bank.ErrorCode(err)]++
		case replay:
			stats[op+":replay"]++
		default:
			if id != "" {
				acked[id]++
			}
			stats[op+":ok"]++
		}
	}

	deadline := time.Now().Add(3 * time.Second)
	if testing.Short() {
		deadline = time.Now().Add(time.Second)
	}
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 42))
			var holds []string
			for i := 0; time.Now().Before(deadline); i++ {
				cur := "EUR"
				if r.IntN(3) == 0 {
					cur = "USD"
				}
				pool := byCur[cur]
				from, to := pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]
				amount := int64(1 + r.IntN(3000))
				switch op := r.IntN(10); {
				case op < 5:
					// Keys are reused across goroutines on purpose: the
					// same key with the same body must move money once.
					key := fmt.Sprintf("g%d-%d", g, i)
					if r.IntN(4) == 0 {
						key = fmt.Sprintf("shared%d", r.IntN(400))
					}
					idem := ledger.Idem{Scope: "load", Key: key, Hash: fmt.Sprintf("%s>%s:%d", from.Number, to.Number, amount)}
					tr, rep, err := l.Post(ctx, ledger.Posting{From: from.Number, To: to.Number, Amount: amount, Currency: cur, Idem: idem})
					if errors.Is(err, bank.ErrIdempotencyConflict) {
						err = nil
						rep = true
					}
					ack(tr.ID, rep, err, "transfer")
				case op < 7:
					h, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: from.Number, Payee: to.Number, Amount: amount, Currency: cur})
					ack("", false, err, "hold")
					if err == nil {
						holds = append(holds, h.ID)
					}
				case op < 9 && len(holds) > 0:
					id := holds[0]
					holds = holds[1:]
					h, err := l.Hold(ctx, id)
					if err != nil {
						t.Error(err)
						return
					}
					h, _, err = l.Capture(ctx, id, 1+r.Int64N(h.Amount), "", "load", ledger.Idem{})
					ack(h.TransferID, false, err, "capture")
				case len(holds) > 0:
					_, _, err := l.Void(ctx, holds[0], "load", ledger.Idem{})
					holds = holds[1:]
					ack("", false, err, "void")
				}
			}
		}(g)
	}
	wg.Wait()
	t.Logf("operations: %v", stats)
	if stats["transfer:ok"] < 100 || stats["capture:ok"] < 10 {
		t.Fatalf("too little work done to prove anything: %v", stats)
	}

	// 1. Per currency the balances sum to zero, and each balance equals
	// the sum of its journal.
	rep, err := l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Balanced() {
		t.Fatalf("ledger does not balance: sums %v, mismatches %v", rep.Sums, rep.Mismatches)
	}
	// 2. No account is below its overdraft limit, counting holds.
	seen := map[string]int{}
	for _, a := range accts {
		got := balance(t, l, a.Number)
		if got.Available < -got.OverdraftLimit {
			t.Errorf("account %s available %d below overdraft limit -%d", a.Number, got.Available, got.OverdraftLimit)
		}
		es, err := l.EntriesBetween(ctx, a.Number, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		perAcct := map[string]int{}
		for _, e := range es {
			perAcct[e.TransferID]++
			seen[e.TransferID]++
		}
		for id, n := range perAcct {
			if n != 1 {
				t.Errorf("transfer %s appears %d times in journal of %s", id, n, a.Number)
			}
		}
	}
	// 3. Every acknowledged transfer is in the journals exactly once on
	// each side (both sides are customer accounts here).
	for id, n := range acked {
		if n != 1 {
			t.Errorf("transfer %s acknowledged as new %d times", id, n)
		}
		if seen[id] != 2 {
			t.Errorf("acknowledged transfer %s has %d journal entries, want 2", id, seen[id])
		}
	}
}
