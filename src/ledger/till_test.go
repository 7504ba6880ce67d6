package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// Each staff member's till counts only their own cash postings, per
// currency, and names the accounts they served, newest first.
func TestTillOfOneStaffMember(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	u := open(t, l, "u3", bank.Checking, "USD", 0)
	start := time.Now().Add(-time.Minute)
	cash := func(dep bool, acct, cur, by string, amount int64) {
		t.Helper()
		// Journal times are milliseconds: "newest first" needs them apart.
		time.Sleep(2 * time.Millisecond)
		var err error
		if dep {
			_, _, err = l.Deposit(ctx, acct, amount, cur, "", by, ledger.Idem{})
		} else {
			_, _, err = l.Withdraw(ctx, acct, amount, cur, "", by, ledger.Idem{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cash(true, a.Number, "EUR", "tina", 10_000)
	cash(true, b.Number, "EUR", "tom", 7_000) // another teller's
	cash(false, a.Number, "EUR", "tina", 2_500)
	cash(true, u.Number, "USD", "tina", 300)
	cash(true, b.Number, "EUR", "tina", 1_000)
	if _, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 1, Currency: "EUR", InitiatedBy: "tina"}); err != nil {
		t.Fatal(err) // a transfer is no cash
	}
	got, err := l.TillOf(ctx, "tina", start, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []ledger.TillTotal{{Currency: "EUR", Deposits: 11_000, Withdrawals: 2_500, Postings: 3}, {Currency: "USD", Deposits: 300, Postings: 1}}
	if len(got.Totals) != 2 || got.Totals[0] != want[0] || got.Totals[1] != want[1] {
		t.Fatalf("totals %+v, want %+v", got.Totals, want)
	}
	if len(got.Accounts) != 3 || got.Accounts[0] != b.Number || got.Accounts[1] != u.Number || got.Accounts[2] != a.Number {
		t.Fatalf("accounts %v, want %s %s %s", got.Accounts, b.Number, u.Number, a.Number)
	}
	if none, err := l.TillOf(ctx, "tina", time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)); err != nil || len(none.Totals) != 0 || len(none.Accounts) != 0 {
		t.Fatalf("an empty period: %+v %v", none, err)
	}
}
