package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

// exposure is what an owner holds: open accounts, and the overdraft
// limits of the open ones per currency.
func exposure(t testing.TB, l *ledger.Ledger, owner string) (open int64, overdraft map[string]int64) {
	t.Helper()
	accts, err := l.AccountsOf(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	overdraft = map[string]int64{}
	for _, a := range accts {
		if a.Status != bank.Closed {
			open++
			overdraft[a.Currency] += a.OverdraftLimit
		}
	}
	return open, overdraft
}

// snapshot is every key of the ledger's Redis with its value, to show
// that a refusal changed nothing (the sequence included).
func snapshot(t testing.TB, pool *redis.Pool) map[string]string {
	t.Helper()
	c := pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		v, err := redis.Bytes(c.Do("DUMP", k))
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(v)
	}
	return out
}

func unchanged(t *testing.T, pool *redis.Pool, before map[string]string, what string) {
	t.Helper()
	after := snapshot(t, pool)
	if len(after) != len(before) {
		t.Fatalf("%s: %d keys before, %d after", what, len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("%s changed %s", what, k)
		}
	}
}

// TestOverdraftsCannotBeAddedUp is the attack from "Banking controls": a
// customer with no money opens four checking accounts with the full
// overdraft each, moves them into a fifth and withdraws the lot.
func TestOverdraftsCannotBeAddedUp(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const full = 100_000
	first := open(t, l, "mallory", bank.Checking, "EUR", full)
	for i := 0; i < 3; i++ {
		_, err := l.Open(ctx, ledger.OpenRequest{Owner: "mallory", Type: bank.Checking, Currency: "EUR", OverdraftLimit: full})
		wantErr(t, err, bank.ErrOverdraftCapExceeded)
		_, err = l.Open(ctx, ledger.OpenRequest{Owner: "mallory", Type: bank.Checking, Currency: "EUR", OverdraftLimit: 1})
		wantErr(t, err, bank.ErrOverdraftCapExceeded)
	}
	sink := open(t, l, "mallory", bank.Checking, "EUR", 0)
	if _, _, err := l.Post(ctx, ledger.Posting{From: first.Number, To: sink.Number, Amount: full, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	// All the credit there is: one account's overdraft, nothing more.
	if _, _, err := l.Post(ctx, ledger.Posting{From: first.Number, To: sink.Number, Amount: 1, Currency: "EUR"}); err == nil {
		t.Fatal("moved more than the one overdraft")
	}
	// Raising another account's limit instead is refused the same way.
	_, err := l.SetOverdraft(ctx, sink.Number, 1)
	wantErr(t, err, bank.ErrOverdraftCapExceeded)
	if _, od := exposure(t, l, "mallory"); od["EUR"] != full {
		t.Fatalf("total overdraft %d, want %d", od["EUR"], full)
	}
}

// TestExposureRefusals checks each refusal of Open and SetOverdraft, and
// that a refusal changes nothing in Redis (no account-number gap either).
func TestExposureRefusals(t *testing.T) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(t)
	l.Limits = ledger.Limits{MaxAccounts: 3, MaxTotalOverdraft: 1000}

	a := open(t, l, "u", bank.Checking, "EUR", 600)
	b := open(t, l, "u", bank.Checking, "EUR", 400) // exactly the cap
	usd := open(t, l, "u", bank.Checking, "USD", 1000)
	other := open(t, l, "v", bank.Checking, "EUR", 1000) // another owner's cap is their own
	sav := open(t, l, "v", bank.Savings, "EUR", 0)

	before := snapshot(t, pool)
	_, err := l.Open(ctx, ledger.OpenRequest{Owner: "u", Type: bank.Savings, Currency: "GBP"})
	wantErr(t, err, bank.ErrAccountLimitReached)
	unchanged(t, pool, before, "a refused open (account limit)")

	// Closing an account frees its place and its overdraft.
	if _, err := l.SetStatus(ctx, usd.Number, ledger.ActionClose); err != nil {
		t.Fatal(err)
	}
	before = snapshot(t, pool)
	_, err = l.Open(ctx, ledger.OpenRequest{Owner: "u", Type: bank.Checking, Currency: "EUR", OverdraftLimit: 1})
	wantErr(t, err, bank.ErrOverdraftCapExceeded)
	unchanged(t, pool, before, "a refused open (overdraft cap)")
	c := open(t, l, "u", bank.Checking, "USD", 1000)
	if want := bank.CustomerAccountNumber(6); c.Number != want {
		t.Fatalf("the number after refusals is %s, want %s (no gap)", c.Number, want)
	}

	// Frozen accounts keep their limit: they can be unfrozen.
	if _, err := l.SetStatus(ctx, a.Number, ledger.ActionFreeze); err != nil {
		t.Fatal(err)
	}
	cash, err := ledger.SystemAccount(bank.PurposeTellerCash, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	before = snapshot(t, pool)
	for _, tc := range []struct {
		number string
		limit  int64
		want   *bank.Error
	}{
		{b.Number, 401, bank.ErrOverdraftCapExceeded},
		{a.Number, 601, bank.ErrOverdraftCapExceeded},
		{usd.Number, 0, bank.ErrAccountClosed},
		{sav.Number, 10, bank.ErrNotCheckingAccount},
		{cash, 10, bank.ErrSystemAccount},
		{bank.CustomerAccountNumber(999), 10, bank.ErrAccountNotFound},
	} {
		_, err := l.SetOverdraft(ctx, tc.number, tc.limit)
		wantErr(t, err, tc.want)
	}
	if _, err := l.SetOverdraft(ctx, b.Number, -1); bank.ErrorCode(err) != "invalid_overdraft_limit" {
		t.Fatalf("a negative limit: %v", err)
	}
	unchanged(t, pool, before, "a refused overdraft change")

	// Within the cap: moving limit from one account to another.
	if got, err := l.SetOverdraft(ctx, a.Number, 100); err != nil || got.OverdraftLimit != 100 {
		t.Fatalf("lowering: %+v, %v", got, err)
	}
	if got, err := l.SetOverdraft(ctx, b.Number, 900); err != nil || got.OverdraftLimit != 900 {
		t.Fatalf("raising within the cap: %+v, %v", got, err)
	}
	if got, err := l.SetOverdraft(ctx, other.Number, 1000); err != nil || got.OverdraftLimit != 1000 {
		t.Fatalf("setting the same limit again: %+v, %v", got, err)
	}
	// Lowering is allowed even above the cap (e.g. the cap was lowered).
	l.Limits.MaxTotalOverdraft = 500
	if got, err := l.SetOverdraft(ctx, b.Number, 800); err != nil || got.OverdraftLimit != 800 {
		t.Fatalf("lowering above a lowered cap: %+v, %v", got, err)
	}
	_, err = l.SetOverdraft(ctx, a.Number, 101)
	wantErr(t, err, bank.ErrOverdraftCapExceeded)
}

// TestOpenNumbersMatchGo checks that open.lua numbers accounts exactly as
// bank.CustomerAccountNumber does, across carries of the sequence.
func TestOpenNumbersMatchGo(t *testing.T) {
	l, pool := newLedgerOnPool(t)
	l.Limits.MaxAccounts = 1000
	c := pool.Get()
	defer c.Close()
	for _, start := range []int64{0, 98, 12_345_677, 99_999_990, 899_999_980} {
		if _, err := c.Do("SET", keyspace.AccountSeq, start); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 12; i++ {
			a := open(t, l, fmt.Sprintf("u%d", start), bank.Savings, "EUR", 0)
			if want := bank.CustomerAccountNumber(start + i); a.Number != want {
				t.Fatalf("seq %d: script numbered %s, Go %s", start+i, a.Number, want)
			}
			if err := bank.ValidateAccountNumber(a.Number); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestConcurrentExposure opens checking accounts with overdrafts and
// raises limits for one customer from 32 goroutines: whatever the
// interleaving, the customer never holds more accounts or more overdraft
// than the limits allow.
func TestConcurrentExposure(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	l.Limits = ledger.Limits{MaxAccounts: 10, MaxTotalOverdraft: 100_000}
	const owner = "many"
	// A quarter of the opens without overdraft, so the account limit is
	// reached too; ten accounts with these limits would be far beyond the cap.
	overdraft := func(g int) int64 {
		if g%4 == 0 {
			return 0
		}
		return int64(30_000 + 5_000*(g%3))
	}
	var (
		mu      sync.Mutex
		numbers []string
		refused = map[string]int{}
		wg      sync.WaitGroup
	)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				cur := []string{"EUR", "EUR", "USD"}[(g+i)%3]
				var err error
				if i%2 == 0 {
					var a bank.Account
					a, err = l.Open(ctx, ledger.OpenRequest{Owner: owner, Type: bank.Checking, Currency: cur, OverdraftLimit: overdraft(g)})
					if err == nil {
						mu.Lock()
						numbers = append(numbers, a.Number)
						mu.Unlock()
					}
				} else {
					mu.Lock()
					var n string
					if len(numbers) > 0 {
						n = numbers[(g*7+i)%len(numbers)]
					}
					mu.Unlock()
					if n == "" {
						continue
					}
					_, err = l.SetOverdraft(ctx, n, int64(30_000+10_000*(g%6)))
				}
				if err != nil {
					if bank.ErrorKind(err) != bank.KindRejected {
						t.Errorf("unexpected error: %v", err)
					}
					mu.Lock()
					refused[bank.ErrorCode(err)]++
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	n, od := exposure(t, l, owner)
	if n > l.Limits.MaxAccounts {
		t.Errorf("%d open accounts, the limit is %d", n, l.Limits.MaxAccounts)
	}
	for cur, sum := range od {
		if sum > l.Limits.MaxTotalOverdraft {
			t.Errorf("%s: total overdraft %d, the cap is %d", cur, sum, l.Limits.MaxTotalOverdraft)
		}
	}
	if refused["account_limit_reached"] == 0 || refused["overdraft_cap_exceeded"] == 0 {
		t.Errorf("the test did not reach both limits: refusals %v", refused)
	}
	t.Logf("%d open accounts, overdraft %v, refusals %v", n, od, refused)
}
