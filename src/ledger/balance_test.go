package ledger_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

var pit0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// pit is pit0 plus n milliseconds.
func pit(n int) time.Time { return pit0.Add(time.Duration(n) * time.Millisecond) }

func balanceAt(t *testing.T, l *ledger.Ledger, acct string, at time.Time) ledger.PointBalance {
	t.Helper()
	b, err := l.BalanceAt(context.Background(), acct, at)
	if err != nil {
		t.Fatalf("BalanceAt %s: %v", at.Format(time.RFC3339Nano), err)
	}
	return b
}

// The balance at an instant is the balance after the last journal entry
// at or before it: entries in the same millisecond all count, whatever
// their sequence number or the instant's sub-millisecond part.
func TestBalanceAtInstants(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	now := pit0
	l.Now = func() time.Time { return now }
	a := open(t, l, "alice", bank.Checking, "EUR", 0)
	b := open(t, l, "bob", bank.Checking, "EUR", 0)

	now = pit(10)
	deposit(t, l, a.Number, 1000, "EUR")
	now = pit(20) // two entries of a in one millisecond: ids 20-0 and 20-1
	deposit(t, l, a.Number, 500, "EUR")
	if _, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 300, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	now = pit(30)
	deposit(t, l, a.Number, 200, "EUR")
	now = pit(3_600_000)

	entries, err := l.EntriesBetween(ctx, a.Number, time.Time{}, time.Time{})
	if err != nil || len(entries) != 4 {
		t.Fatalf("journal %+v, %v", entries, err)
	}
	for _, c := range []struct {
		name    string
		at      time.Time
		balance int64
		entry   int // index into entries, -1 for none
	}{
		{"before the account existed", pit0.Add(-24 * time.Hour), 0, -1},
		{"before the first entry", pit(9), 0, -1},
		{"exactly at the first entry's millisecond", pit(10), 1000, 0},
		{"within the first entry's millisecond", pit(10).Add(999 * time.Microsecond), 1000, 0},
		{"between entries", pit(19), 1000, 0},
		{"at a millisecond with two entries", pit(20), 1200, 2},
		{"after the last entry", pit(31), 1400, 3},
		{"now", now, 1400, 3},
	} {
		got := balanceAt(t, l, a.Number, c.at)
		wantID := ""
		if c.entry >= 0 {
			wantID = entries[c.entry].ID
		}
		if got.Balance != c.balance || got.EntryID != wantID {
			t.Errorf("%s: %+v, want balance %d after entry %q", c.name, got, c.balance, wantID)
		}
	}
	if got := balanceAt(t, l, b.Number, pit(20)); got.Balance != 300 {
		t.Errorf("receiver at 20ms: %+v", got)
	}

	// A balance not yet known, and instants no journal id can name.
	if _, err := l.BalanceAt(ctx, a.Number, now.Add(time.Millisecond)); !errors.Is(err, ledger.ErrTimeInFuture) {
		t.Errorf("future: %v", err)
	}
	for _, at := range []time.Time{time.Unix(0, 0), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := l.BalanceAt(ctx, a.Number, at); !errors.Is(err, ledger.ErrTimeBeforeEpoch) {
			t.Errorf("%v: %v", at, err)
		}
	}
}

// A journal entry whose balance does not parse is an error, never 0.
func TestBalanceAtMalformedEntry(t *testing.T) {
	l, pool := newLedgerOnPool(t)
	l.Now = func() time.Time { return pit(10) }
	a := open(t, l, "alice", bank.Checking, "EUR", 0)
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("XADD", keyspace.Journal+a.Number, pit(5).UnixMilli(), "amount", "100", "balance", "1e2"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.BalanceAt(context.Background(), a.Number, pit(5)); err == nil || !strings.Contains(err.Error(), `malformed integer "1e2"`) {
		t.Fatalf("BalanceAt on a malformed entry: %v", err)
	}
}

// TestBalanceAtUnderConcurrentPostings reads balances at past instants
// while 16 goroutines post, and checks every answer against the journal
// replayed (amounts summed) up to that instant once the postings are done.
// Only instants before the account's newest entry are asked for: journal
// ids never go backwards, so nothing can be appended at or before them
// later, and the answer given during the postings must be the final one.
func TestBalanceAtUnderConcurrentPostings(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	// Every reading of the clock is a new millisecond, so postings spread
	// over many instants (and some still share one).
	var tick atomic.Int64
	l.Now = func() time.Time { return pit0.Add(time.Duration(tick.Add(1)/2) * time.Millisecond) }
	var accts []bank.Account
	for i := 0; i < 6; i++ {
		a := open(t, l, "u", bank.Checking, "EUR", 2000)
		deposit(t, l, a.Number, 10_000, "EUR")
		accts = append(accts, a)
	}

	type sample struct {
		acct string
		at   time.Time
		got  ledger.PointBalance
	}
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
		done    = make(chan struct{})
	)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := 0; i < 150; i++ {
				from, to := accts[r.IntN(len(accts))], accts[r.IntN(len(accts))]
				_, _, err := l.Post(ctx, ledger.Posting{From: from.Number, To: to.Number, Amount: int64(1 + r.IntN(3000)), Currency: "EUR"})
				if err != nil && bank.ErrorKind(err) == bank.KindInternal {
					t.Errorf("post: %v", err)
				}
			}
		}(g)
	}
	var readers sync.WaitGroup
	for g := 0; g < 4; g++ {
		readers.Add(1)
		go func(g int) {
			defer readers.Done()
			r := rand.New(rand.NewPCG(uint64(g), 99))
			for {
				select {
				case <-done:
					return
				default:
				}
				a := accts[r.IntN(len(accts))].Number
				newest, _, err := l.Entries(ctx, ledger.EntryQuery{Account: a, Limit: 1})
				if err != nil {
					t.Error(err)
					return
				}
				last := newest[0].Time.Sub(pit0).Milliseconds()
				if last < 1 {
					continue
				}
				at := pit(r.IntN(int(last))) // before the newest entry's millisecond
				got, err := l.BalanceAt(ctx, a, at)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				samples = append(samples, sample{a, at, got})
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	close(done)
	readers.Wait()

	if len(samples) < 50 {
		t.Fatalf("only %d samples taken during the postings", len(samples))
	}
	for _, s := range samples {
		journal, err := l.EntriesBetween(ctx, s.acct, time.Time{}, s.at.Add(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		lastID := ""
		for _, e := range journal {
			sum += e.Amount
			lastID = e.ID
		}
		if s.got.Balance != sum || s.got.EntryID != lastID {
			t.Fatalf("%s at %s: answered %+v during the postings, the journal replays to %d after %q",
				s.acct, s.at.Format(time.RFC3339Nano), s.got, sum, lastID)
		}
	}
	t.Logf("%d balances checked against the replayed journal", len(samples))
}
