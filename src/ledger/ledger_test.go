package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
)

func newLedger(t testing.TB) *ledger.Ledger {
	t.Helper()
	l, _ := newLedgerOnPool(t)
	return l
}

// newLedgerOnPool is newLedger with its pool, for tests that reach past
// the ledger into Redis (to tamper with it).
func newLedgerOnPool(t testing.TB) (*ledger.Ledger, *redis.Pool) {
	t.Helper()
	pool := redistest.Start(t).Pool(t)
	l := ledger.New(pool)
	if err := l.EnsureSystemAccounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l, pool
}

func open(t testing.TB, l *ledger.Ledger, owner string, typ bank.AccountType, cur string, overdraft int64) bank.Account {
	t.Helper()
	a, err := l.Open(context.Background(), ledger.OpenRequest{Owner: owner, Type: typ, Currency: cur, OverdraftLimit: overdraft})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func deposit(t testing.TB, l *ledger.Ledger, acct string, amount int64, cur string) {
	t.Helper()
	if _, _, err := l.Deposit(context.Background(), acct, amount, cur, "", "teller", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
}

func balance(t testing.TB, l *ledger.Ledger, n string) bank.Account {
	t.Helper()
	a, err := l.Account(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantErr(t *testing.T, err error, want *bank.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %s", err, want.Code)
	}
}

func TestTransferRules(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 500)
	b := open(t, l, "u2", bank.Savings, "EUR", 0)
	usd := open(t, l, "u2", bank.Checking, "USD", 0)
	if err := bank.ValidateAccountNumber(a.Number); err != nil {
		t.Fatalf("new account number %s invalid: %v", a.Number, err)
	}
	deposit(t, l, a.Number, 1000, "EUR")

	// Overdraft: 1000 + 500 limit allows 1500, not 1501.
	_, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 1501, Currency: "EUR"})
	wantErr(t, err, bank.ErrInsufficientFunds)
	if _, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 1500, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, l, a.Number).Balance; got != -500 {
		t.Fatalf("balance = %d, want -500", got)
	}
	_, _, err = l.Post(ctx, ledger.Posting{From: b.Number, To: usd.Number, Amount: 1, Currency: "EUR"})
	wantErr(t, err, bank.ErrCurrencyMismatch)
	_, _, err = l.Post(ctx, ledger.Posting{From: b.Number, To: b.Number, Amount: 1, Currency: "EUR"})
	wantErr(t, err, bank.ErrSameAccount)
	_, _, err = l.Post(ctx, ledger.Posting{From: b.Number, To: "1000000000", Amount: 1, Currency: "EUR"})
	wantErr(t, err, bank.ErrAccountNotFound)

	// Frozen: cannot send, can receive.
	if _, err := l.SetStatus(ctx, b.Number, ledger.ActionFreeze); err != nil {
		t.Fatal(err)
	}
	_, _, err = l.Post(ctx, ledger.Posting{From: b.Number, To: a.Number, Amount: 1, Currency: "EUR"})
	wantErr(t, err, bank.ErrAccountFrozen)
	deposit(t, l, b.Number, 5, "EUR")
	if _, err := l.SetStatus(ctx, b.Number, ledger.ActionUnfreeze); err != nil {
		t.Fatal(err)
	}
	// Close only at zero.
	_, err = l.SetStatus(ctx, b.Number, ledger.ActionClose)
	wantErr(t, err, bank.ErrAccountNotEmpty)
	if _, _, err := l.Withdraw(ctx, b.Number, 1505, "EUR", "", "teller", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetStatus(ctx, b.Number, ledger.ActionClose); err != nil {
		t.Fatal(err)
	}
	_, _, err = l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 1, Currency: "EUR"})
	wantErr(t, err, bank.ErrAccountClosed)

	rep, err := l.Reconcile(ctx)
	if err != nil || !rep.Balanced() {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
}

func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 1000, "EUR")
	idem := ledger.Idem{Scope: "u1", Key: "k1", Hash: "h1"}
	t1, r1, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR", Idem: idem})
	if err != nil || r1 {
		t.Fatal(err, r1)
	}
	t2, r2, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR", Idem: idem})
	if err != nil || !r2 || t2.ID != t1.ID {
		t.Fatalf("replay: %v %v %s/%s", err, r2, t2.ID, t1.ID)
	}
	_, _, err = l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 101, Currency: "EUR", Idem: ledger.Idem{Scope: "u1", Key: "k1", Hash: "h2"}})
	wantErr(t, err, bank.ErrIdempotencyConflict)
	if got := balance(t, l, a.Number).Balance; got != 900 {
		t.Fatalf("balance %d, want 900", got)
	}
	// Another user's identical key is a different record.
	if _, r, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR", Idem: ledger.Idem{Scope: "u2", Key: "k1", Hash: "h1"}}); err != nil || r {
		t.Fatal(err, r)
	}
}

func TestHolds(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	shop := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 1000, "EUR")
	h, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: shop.Number, Amount: 700, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	acc := balance(t, l, a.Number)
	if acc.Balance != 1000 || acc.Available != 300 {
		t.Fatalf("after hold: %+v", acc)
	}
	_, _, err = l.Post(ctx, ledger.Posting{From: a.Number, To: shop.Number, Amount: 301, Currency: "EUR"})
	wantErr(t, err, bank.ErrInsufficientFunds)
	_, _, err = l.Capture(ctx, h.ID, 701, "", "u2", ledger.Idem{})
	wantErr(t, err, bank.ErrCaptureExceedsHold)
	h, _, err = l.Capture(ctx, h.ID, 650, "", "u2", ledger.Idem{})
	if err != nil || h.Status != bank.HoldCaptured || h.Captured != 650 {
		t.Fatalf("capture: %+v %v", h, err)
	}
	acc = balance(t, l, a.Number)
	if acc.Balance != 350 || acc.Available != 350 {
		t.Fatalf("after capture: %+v", acc)
	}
	_, _, err = l.Void(ctx, h.ID, "u1", ledger.Idem{})
	wantErr(t, err, bank.ErrHoldNotActive)

	// Expiry: a hold past its expiry cannot be captured and is released by Expire.
	clock := time.Now()
	l.Now = func() time.Time { return clock }
	h2, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: shop.Number, Amount: 100, Currency: "EUR", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Expire(ctx, h2.ID); ok || err != nil {
		t.Fatalf("early expire: %v %v", ok, err)
	}
	clock = clock.Add(2 * time.Minute)
	_, _, err = l.Capture(ctx, h2.ID, 100, "", "u2", ledger.Idem{})
	wantErr(t, err, bank.ErrHoldExpired)
	due, _ := l.DueHolds(ctx, clock, 10)
	if len(due) != 1 || due[0] != h2.ID {
		t.Fatalf("due holds %v", due)
	}
	if ok, err := l.Expire(ctx, h2.ID); !ok || err != nil {
		t.Fatalf("expire: %v %v", ok, err)
	}
	if ok, _ := l.Expire(ctx, h2.ID); ok {
		t.Fatal("second expire changed something")
	}
	if acc := balance(t, l, a.Number); acc.Available != 350 || acc.Held != 0 {
		t.Fatalf("after expiry: %+v", acc)
	}
}

// The balance bound keeps every value exact in Lua doubles: postings up to
// the bound succeed and are recorded exactly, beyond it are refused.
func TestBalanceBoundary(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "JPY", 0)
	for i := 0; i < 1000; i++ {
		deposit(t, l, a.Number, bank.MaxAmount, "JPY")
	}
	if got := balance(t, l, a.Number).Balance; got != bank.MaxBalance {
		t.Fatalf("balance %d, want %d", got, bank.MaxBalance)
	}
	_, _, err := l.Deposit(ctx, a.Number, 1, "JPY", "", "t", ledger.Idem{})
	wantErr(t, err, bank.ErrBalanceLimit)
	b := open(t, l, "u2", bank.Checking, "JPY", 0)
	if _, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 123456789, Currency: "JPY"}); err != nil {
		t.Fatal(err)
	}
	es, _, err := l.Entries(ctx, ledger.EntryQuery{Account: a.Number, Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatal(err)
	}
	if want := bank.MaxBalance - 123456789; es[0].BalanceAfter != want {
		t.Fatalf("balance_after %d, want %d (lost precision?)", es[0].BalanceAfter, want)
	}
	rep, _ := l.Reconcile(ctx)
	if !rep.Balanced() {
		t.Fatalf("unbalanced: %+v", rep)
	}
}

func TestEntriesPaging(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	for i := 1; i <= 25; i++ {
		deposit(t, l, a.Number, int64(i), "EUR")
	}
	var all []bank.Entry
	cursor := ""
	for {
		page, next, err := l.Entries(ctx, ledger.EntryQuery{Account: a.Number, Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 25 || all[0].Amount != 25 || all[24].Amount != 1 {
		t.Fatalf("got %d entries, first %+v", len(all), all[0])
	}
	_, _, err := l.Entries(ctx, ledger.EntryQuery{Account: a.Number, Cursor: "garbage!"})
	wantErr(t, err, ledger.ErrBadCursor)
}
