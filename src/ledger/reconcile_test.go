package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// Reconciliation running while postings land must not report an
// imbalance that is not there (the hourly job would cry wolf).
func TestReconcileUnderLoadHasNoFalseAlarms(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	var accts []string
	for i := 0; i < 40; i++ {
		a := open(t, l, fmt.Sprintf("u%d", i%8), bank.Checking, "EUR", 0)
		deposit(t, l, a.Number, 1_000_000, "EUR")
		accts = append(accts, a.Number)
	}
	var stop atomic.Bool
	var posted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; !stop.Load(); i++ {
				from, to := accts[i%40], accts[(i*7+1)%40]
				if from == to {
					continue
				}
				if _, _, err := l.Post(ctx, ledger.Posting{From: from, To: to, Amount: 1, Currency: "EUR"}); err != nil {
					t.Error(err)
					return
				}
				posted.Add(1)
			}
		}(g)
	}
	checks := 0
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); checks++ {
		rep, err := l.Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Balanced() {
			t.Errorf("false alarm while postings run: sums %v mismatches %v", rep.Sums, rep.Mismatches)
		}
	}
	stop.Store(true)
	wg.Wait()
	if posted.Load() < 100 || checks < 3 {
		t.Fatalf("not enough overlap to prove anything: %d postings, %d checks", posted.Load(), checks)
	}
	t.Logf("%d reconciliations during %d postings", checks, posted.Load())
}

// Tampering is found: a balance edited behind the ledger's back by the
// incremental check, an edited old journal entry by the full one.
func TestReconcileFindsTampering(t *testing.T) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(t)
	a := open(t, l, "u", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 500, "EUR")
	if rep, err := l.Reconcile(ctx); err != nil || !rep.Balanced() {
		t.Fatalf("clean ledger: %+v %v", rep, err)
	}
	c := pool.Get()
	defer c.Close()
	// An old journal entry replaced by a different one: the full check
	// recomputes every journal from its start and names the account.
	es, _, _ := l.Entries(ctx, ledger.EntryQuery{Account: a.Number})
	if _, err := c.Do("XDEL", "bank:journal:"+a.Number, es[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do("XADD", "bank:journal:"+a.Number, "*", "amount", "499", "balance", "499"); err != nil {
		t.Fatal(err)
	}
	full, err := l.ReconcileFull(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Mismatches) != 1 || full.Mismatches[0].Account != a.Number || full.Mismatches[0].JournalSum != 499 {
		t.Fatalf("full check missed the edited journal: %+v", full)
	}
	// A balance changed without a posting: per-currency sum and the
	// account's journal both disagree.
	if _, err := c.Do("HINCRBY", "bank:acct:"+a.Number, "balance", 7); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sums["EUR"] != 7 || len(rep.Mismatches) != 1 || rep.Balanced() {
		t.Fatalf("tampered balance not reported: %+v", rep)
	}
}

// The held amount must equal the sum of the account's authorised holds,
// and each journal entry's balance_after must continue the running sum.
func TestReconcileChecksHeldAndRunningBalances(t *testing.T) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(t)
	a := open(t, l, "u", bank.Checking, "EUR", 0)
	shop := open(t, l, "s", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 1000, "EUR")
	if _, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: shop.Number, Amount: 300, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	if rep, err := l.Reconcile(ctx); err != nil || !rep.Balanced() {
		t.Fatalf("clean ledger with a hold: %+v %v", rep, err)
	}
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("HINCRBY", "bank:acct:"+a.Number, "held", -300); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.HeldMismatches) != 1 || rep.HeldMismatches[0] != (ledger.HeldMismatch{Account: a.Number, Held: 0, Holds: 300}) || rep.Balanced() {
		t.Fatalf("released-without-settling hold not reported: %+v", rep)
	}
	if _, err := c.Do("HINCRBY", "bank:acct:"+a.Number, "held", 300); err != nil {
		t.Fatal(err)
	}
	// A journal entry whose running balance is wrong, though the amounts
	// still sum to the balance.
	if _, err := c.Do("XADD", "bank:journal:"+shop.Number, "*", "amount", "5", "balance", "7", "kind", "transfer"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do("XADD", "bank:journal:"+shop.Number, "*", "amount", "-5", "balance", "0", "kind", "transfer"); err != nil {
		t.Fatal(err)
	}
	rep, err = l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].Account != shop.Number || rep.Mismatches[0].BadEntry == "" {
		t.Fatalf("broken running balance not reported: %+v", rep)
	}
}
