package demo

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
)

// now is the seed's fixed "now": mid-month, mid-day.
var now = time.Date(2026, 5, 14, 10, 30, 0, 0, time.UTC)

func seed(t *testing.T, pool *redis.Pool) Accounts {
	t.Helper()
	ctx := context.Background()
	if err := ledger.New(pool).EnsureSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	accts, err := Seed(ctx, Deps{Pool: pool, Auth: auth.New(pool, auth.DefaultLimits)}, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %v", time.Since(began))
	return accts
}

// state is every account's balance, held amount and journal length.
func state(t *testing.T, l *ledger.Ledger) map[string][3]int64 {
	t.Helper()
	ctx := context.Background()
	nums, err := l.AccountNumbers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := l.Accounts(ctx, nums)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][3]int64{}
	for _, a := range accts {
		es, err := l.EntriesBetween(ctx, a.Number, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		out[a.Number] = [3]int64{a.Balance, a.Held, int64(len(es))}
	}
	return out
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	pool := redistest.Start(t).Pool(t)
	accts := seed(t, pool)
	l := ledger.New(pool)

	alice, bob := accts["alice"], accts["bob"]
	if len(alice) != 2 || len(bob) != 1 {
		t.Fatalf("accounts: %+v", accts)
	}
	checking, savings := alice[0], alice[1]
	for want, a := range map[string]bank.Account{"1000000016": checking, "1000000024": savings, "1000000032": bob[0]} {
		if a.Number != want {
			t.Errorf("account %s %s is %s, want %s", a.Name, a.Type, a.Number, want)
		}
	}
	if checking.Type != bank.Checking || checking.Name != "Everyday" || checking.OverdraftLimit == 0 ||
		savings.Type != bank.Savings || savings.Name != "Savings" || savings.InterestRate == 0 {
		t.Errorf("alice's accounts: %+v", alice)
	}

	rep, err := l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Balanced() {
		t.Fatalf("reconciliation: %+v", rep)
	}

	// Months of history on checking, all before now and in time order.
	es, err := l.EntriesBetween(ctx, checking.Number, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	months := map[string]bool{}
	for i, e := range es {
		if !e.Time.Before(now) {
			t.Errorf("entry %s at %v, not before now", e.Description, e.Time)
		}
		if i > 0 && e.Time.Before(es[i-1].Time) {
			t.Errorf("entry %s at %v before the previous one", e.Description, e.Time)
		}
		months[e.Time.Format("2006-01")] = true
	}
	if len(months) < 3 {
		t.Errorf("checking has %d entries in months %v, want at least 3 months", len(es), months)
	}
	if es[len(es)-1].BalanceAfter != checking.Balance {
		t.Errorf("last entry's balance %d, account's %d", es[len(es)-1].BalanceAfter, checking.Balance)
	}

	// Interest on savings.
	ss, err := l.EntriesBetween(ctx, savings.Number, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	interest := 0
	for _, e := range ss {
		if e.Kind == bank.PostingInterest && e.Amount > 0 {
			interest++
		}
	}
	if interest < 90 {
		t.Errorf("savings has %d interest postings, want one a day", interest)
	}

	// Last month's statement, issued by the statements job.
	last := now.AddDate(0, -1, 0).Format("2006-01")
	for _, a := range []bank.Account{checking, savings, bob[0]} {
		st, err := statements.NewStore(pool).Get(ctx, a.Number, last)
		if err != nil {
			t.Fatalf("statement %s %s: %v", a.Number, last, err)
		}
		if st.EntryCount == 0 || st.GeneratedAt.After(now) {
			t.Errorf("statement %s %s: %+v", a.Number, last, st.Summary())
		}
	}

	// One pending hold, expiring in a few days.
	holds, err := l.HoldsOf(ctx, checking.Number, 100)
	if err != nil {
		t.Fatal(err)
	}
	var pending []bank.Hold
	for _, h := range holds {
		if h.Status == bank.HoldAuthorized {
			pending = append(pending, h)
		}
	}
	if len(pending) != 1 || !pending[0].ExpiresAt.After(now.Add(24*time.Hour)) || pending[0].ExpiresAt.After(now.AddDate(0, 0, 8)) {
		t.Errorf("pending holds: %+v", pending)
	}
	if checking.Held != pendingHold {
		t.Errorf("checking holds %d, want %d", checking.Held, pendingHold)
	}

	// One active standing order, first paid in the future.
	orders, err := standing.NewStore(pool, l, time.UTC).List(ctx, checking.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 1 || orders[0].Status != standing.Active || orders[0].NextDate <= now.Format("2006-01-02") {
		t.Errorf("standing orders: %+v", orders)
	}
}

func TestSeedTwiceChangesNothing(t *testing.T) {
	pool := redistest.Start(t).Pool(t)
	first := seed(t, pool)
	l := ledger.New(pool)
	before := state(t, l)

	// A second `bank dev`, the next day: the accounts exist, nothing is written.
	again, err := Seed(context.Background(), Deps{Pool: pool, Auth: auth.New(pool, auth.DefaultLimits)}, now.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := state(t, l); !maps.Equal(got, before) {
		t.Errorf("second seed changed the ledger:\n%v\n%v", before, got)
	}
	if len(again["alice"]) != 2 || again["alice"][0].Number != first["alice"][0].Number {
		t.Errorf("second seed returned %+v", again)
	}

	// Every write of the history itself is idempotent: writing it again
	// (an interrupted seed's retry) replays each one.
	ctx := context.Background()
	s := newSeeder(Deps{Pool: pool, Auth: auth.New(pool, auth.DefaultLimits)}, now)
	users, err := s.users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := accounts{checking: first["alice"][0].Number, savings: first["alice"][1].Number, bob: first["bob"][0].Number}
	if err := s.history(ctx, users, a); err != nil {
		t.Fatal(err)
	}
	if got := state(t, l); !maps.Equal(got, before) {
		t.Errorf("writing the history again changed the ledger:\n%v\n%v", before, got)
	}
	orders, err := s.stand.List(ctx, users["alice"].ID)
	if err != nil || len(orders) != 1 {
		t.Errorf("standing orders after a second history: %d, %v", len(orders), err)
	}
}

// Just after midnight on the 1st, the last day's interest and last month's
// statement fall due after now: they are written at now, and nothing later.
func TestSeedOnTheFirst(t *testing.T) {
	ctx := context.Background()
	pool := redistest.Start(t).Pool(t)
	first := time.Date(2026, 6, 1, 0, 0, 30, 0, time.UTC)
	if err := ledger.New(pool).EnsureSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	accts, err := Seed(ctx, Deps{Pool: pool, Auth: auth.New(pool, auth.DefaultLimits)}, first)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(pool)
	if rep, err := l.Reconcile(ctx); err != nil || !rep.Balanced() {
		t.Fatalf("reconciliation: %+v, %v", rep, err)
	}
	savings := accts["alice"][1].Number
	es, err := l.EntriesBetween(ctx, savings, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if last := es[len(es)-1]; last.Description != "Interest 2026-05-31" || last.Time.After(first) {
		t.Errorf("savings' last entry: %+v", last)
	}
	if _, err := statements.NewStore(pool).Get(ctx, savings, "2026-05"); err != nil {
		t.Errorf("May's statement: %v", err)
	}
}
