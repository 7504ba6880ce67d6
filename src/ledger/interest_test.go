package ledger_test

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

func openSavings(t testing.TB, l *ledger.Ledger, owner, cur string, rate int64) bank.Account {
	t.Helper()
	a, err := l.Open(context.Background(), ledger.OpenRequest{Owner: owner, Type: bank.Savings, Currency: cur, InterestRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// refInterest is an independent model of daily accrual with carry, in
// big integers: what the Lua script must reproduce.
func refInterest(balance, rate, carry int64) (amount, newCarry int64) {
	if balance <= 0 || rate <= 0 {
		return 0, carry
	}
	x := new(big.Int).Mul(big.NewInt(balance), big.NewInt(rate))
	x.Add(x, big.NewInt(carry))
	q, r := new(big.Int).QuoRem(x, big.NewInt(ledger.InterestDivisor), new(big.Int))
	return q.Int64(), r.Int64()
}

func TestInterestTenDaysWithCarry(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	day0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return day0 }
	s := openSavings(t, l, "u1", "EUR", 365)  // 3.65%
	deposit(t, l, s.Number, 1_000_000, "EUR") // 10,000.00

	d := bank.NewDay(day0, time.UTC)
	var total, carry int64
	bal := int64(1_000_000)
	for i := 1; i <= 15; i++ {
		// The job for day d runs just after it ends; the posting lands on the next day.
		l.Now = func() time.Time { return d.End.Add(5 * time.Minute) }
		res, err := l.AccrueInterest(ctx, []ledger.Accrual{{Account: s.Number, Currency: "EUR", Day: d}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("day %d: %v %v", i, err, res[0].Err)
		}
		wantAmt, wantCarry := refInterest(bal, 365, carry)
		if res[0].Amount != wantAmt || res[0].Carry != wantCarry || res[0].Balance != bal {
			t.Fatalf("day %d: got amount %d carry %d on %d, want %d carry %d on %d", i, res[0].Amount, res[0].Carry, res[0].Balance, wantAmt, wantCarry, bal)
		}
		bal += wantAmt
		total += wantAmt
		carry = wantCarry
		if i == 10 {
			// By hand: day i earns on 1,000,000 + 100(i-1): 100.00 cents plus
			// 36,500(i-1)/3,650,000 of a cent; after 10 days 1,000 cents are
			// paid and 36,500 × 45 = 1,642,500 is carried (0.45 cent).
			if total != 1000 || carry != 1_642_500 {
				t.Fatalf("after 10 days: paid %d carry %d, want 1000 and 1642500", total, carry)
			}
		}
		if i == 15 && res[0].Amount != 101 {
			// bank.Day 15's carry crosses one cent: 3,321,500 + 511,000 ≥ 3,650,000.
			t.Fatalf("day 15 paid %d, want 101 (the carried remainder becomes a cent)", res[0].Amount)
		}
		d = d.Next(time.UTC)
	}
	if got := balance(t, l, s.Number).Balance; got != 1_000_000+total {
		t.Fatalf("balance %d, want %d", got, 1_000_000+total)
	}
	exp, _ := ledger.SystemAccount(bank.PurposeInterestExpense, "EUR")
	if got := balance(t, l, exp).Balance; got != -total {
		t.Fatalf("interest expense %d, want %d", got, -total)
	}
	st, err := l.InterestStates(ctx, []string{s.Number})
	if err != nil || st[0].Carry != carry || st[0].LastDate != "2026-01-15" {
		t.Fatalf("state %+v %v, want carry %d last 2026-01-15", st, err, carry)
	}
	rep, err := l.Reconcile(ctx)
	if err != nil || !rep.Balanced() {
		t.Fatalf("ledger not balanced: %+v %v", rep, err)
	}
}

func TestInterestIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return start }
	var accts []bank.Account
	for i := 0; i < 20; i++ {
		a := openSavings(t, l, fmt.Sprintf("u%d", i%4), "EUR", int64(100+i*37))
		deposit(t, l, a.Number, int64(123_457+i*99_991), "EUR")
		accts = append(accts, a)
	}
	l.Now = func() time.Time { return start.Add(48 * time.Hour) }
	d1 := bank.NewDay(start, time.UTC)
	d2 := d1.Next(time.UTC)
	var reqs []ledger.Accrual
	for _, a := range accts {
		reqs = append(reqs, ledger.Accrual{Account: a.Number, Currency: "EUR", Day: d1}, ledger.Accrual{Account: a.Number, Currency: "EUR", Day: d2})
	}
	// Four workers run the same two days at once, twice each.
	var wg sync.WaitGroup
	var mu sync.Mutex
	paid := map[string]int64{}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 2; r++ {
				res, err := l.AccrueInterest(ctx, reqs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, x := range res {
					if x.Err != nil {
						t.Error(x.Err)
					}
					paid[x.Account] += x.Amount
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i, a := range accts {
		bal := int64(123_457 + i*99_991)
		a1, c1 := refInterest(bal, a.InterestRate, 0)
		a2, _ := refInterest(bal, a.InterestRate, c1) // day 1's interest is posted on day 3: not in day 2's balance
		if paid[a.Number] != a1+a2 {
			t.Fatalf("%s: paid %d over all runs, want %d once", a.Number, paid[a.Number], a1+a2)
		}
		if got := balance(t, l, a.Number).Balance; got != bal+a1+a2 {
			t.Fatalf("%s: balance %d, want %d", a.Number, got, bal+a1+a2)
		}
	}
	// A day earlier than the last accrued one is a no-op, not a second payment.
	res, err := l.AccrueInterest(ctx, reqs[:1])
	if err != nil || res[0].Status != "done" || res[0].Amount != 0 {
		t.Fatalf("re-run of day 1: %+v %v", res, err)
	}
	rep, err := l.Reconcile(ctx)
	if err != nil || !rep.Balanced() {
		t.Fatalf("ledger not balanced: %+v %v", rep, err)
	}
}

func TestInterestLargeBalanceExact(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	day := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return day }
	s := openSavings(t, l, "rich", "EUR", ledger.MaxInterestRate)
	// Near the balance bound, balance × rate (≈ 1e19) is far past 2^53.
	bal := bank.MaxBalance - 7
	for left := bal; left > 0; {
		amt := min(left, bank.MaxAmount)
		deposit(t, l, s.Number, amt, "EUR")
		left -= amt
	}
	// Leave room for a day's interest at 100% (≈ 2.7e12) under the bound.
	for i := 0; i < 3; i++ {
		if _, _, err := l.Withdraw(ctx, s.Number, bank.MaxAmount, "EUR", "", "teller", ledger.Idem{}); err != nil {
			t.Fatal(err)
		}
		bal -= bank.MaxAmount
	}
	l.Now = func() time.Time { return day.Add(24 * time.Hour) }
	res, err := l.AccrueInterest(ctx, []ledger.Accrual{{Account: s.Number, Currency: "EUR", Day: bank.NewDay(day, time.UTC)}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	want, wantCarry := refInterest(bal, ledger.MaxInterestRate, 0)
	if res[0].Amount != want || res[0].Carry != wantCarry {
		t.Fatalf("got %d carry %d, want %d carry %d", res[0].Amount, res[0].Carry, want, wantCarry)
	}
}

func TestPostOnce(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	p := ledger.Posting{From: a.Number, To: b.Number, Amount: 500, Currency: "EUR", Kind: bank.PostingStandingOrder}
	o, err := l.PostOnce(ctx, p, "bank:test:runs", "2026-01-01")
	if err != nil || o.Executed || o.Code != "insufficient_funds" {
		t.Fatalf("first run: %+v %v, want failed insufficient_funds", o, err)
	}
	deposit(t, l, a.Number, 10_000, "EUR")
	// The failure is final for that date: funds arriving later change nothing.
	o, err = l.PostOnce(ctx, p, "bank:test:runs", "2026-01-01")
	if err != nil || o.Executed || !o.Replayed {
		t.Fatalf("after deposit: %+v %v, want the recorded failure", o, err)
	}
	// Another date, eight concurrent runs: exactly one posting.
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	ids := map[string]bool{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := l.PostOnce(ctx, p, "bank:test:runs", "2026-01-02")
			if err != nil || !o.Executed {
				t.Errorf("run: %+v %v", o, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[o.TransferID] = true
			if !o.Replayed {
				fresh++
			}
		}()
	}
	wg.Wait()
	if fresh != 1 || len(ids) != 1 {
		t.Fatalf("%d runs executed, transfers %v, want 1", fresh, ids)
	}
	if got := balance(t, l, a.Number).Balance; got != 9_500 {
		t.Fatalf("balance %d, want 9500", got)
	}
	if _, err := l.PostOnce(ctx, p, "other:key", "x"); err == nil {
		t.Fatal("a key outside bank: must be refused")
	}
	for id := range ids {
		if tr, err := l.Transfer(ctx, id); err != nil || tr.Amount != 500 || tr.Kind != bank.PostingStandingOrder {
			t.Fatal(tr, err)
		}
	}
	if o, err := l.PostOnce(ctx, p, "bank:test:runs", "2026-01-01"); err != nil || o.TransferID != "" {
		t.Fatalf("failed date has a transfer: %+v %v", o, err)
	}
}

// A day that has not ended cannot be accrued: it would pay on a partial
// balance and mark the day done for good.
func TestInterestRefusesUnfinishedDay(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	s := openSavings(t, l, "u1", "EUR", 365)
	deposit(t, l, s.Number, 1_000_000, "EUR")
	for _, d := range []bank.Day{bank.NewDay(now, time.UTC), bank.NewDay(now.AddDate(0, 0, 10), time.UTC)} {
		_, err := l.AccrueInterest(ctx, []ledger.Accrual{{Account: s.Number, Currency: "EUR", Day: d}})
		if bank.ErrorCode(err) != "day_not_ended" {
			t.Fatalf("accruing %s at %s: got %v, want day_not_ended", d.Date, now, err)
		}
	}
	if got := balance(t, l, s.Number).Balance; got != 1_000_000 {
		t.Fatalf("balance moved to %d", got)
	}
	// The day after it ended: accrued normally.
	l.Now = func() time.Time { return now.Add(10 * time.Hour) }
	res, err := l.AccrueInterest(ctx, []ledger.Accrual{{Account: s.Number, Currency: "EUR", Day: bank.NewDay(now, time.UTC)}})
	if err != nil || res[0].Err != nil || res[0].Amount != 100 {
		t.Fatalf("after the day: %+v %v", res, err)
	}
}
