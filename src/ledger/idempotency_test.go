package ledger_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

// clock is a settable ledger clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// Idempotency records live in TTL-long windows: whenever in its window a
// record is written, a retry within one TTL on the ledger's clock
// replays it, the window's key outlives that retry in Redis, and after
// two TTLs the key is free again.
func TestIdempotencyRecordLivesOneTTL(t *testing.T) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(t)
	const ttl = 100 * time.Second
	l.IdempotencyTTL = ttl
	// Window 17_000_000 (TTL-long windows since 1970), at its first
	// millisecond, in the middle and at its last.
	w := time.Unix(17_000_000*100, 0)
	clk := &clock{t: w}
	l.Now = clk.now
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 1_000_000, "EUR")
	c := pool.Get()
	defer c.Close()
	for i, at := range []time.Time{w, w.Add(ttl / 2), w.Add(ttl - time.Millisecond)} {
		key := "k" + strconv.Itoa(i)
		p := ledger.Posting{From: a.Number, To: b.Number, Amount: 1, Currency: "EUR", Idem: ledger.Idem{Scope: "u1", Key: key, Hash: "h"}}
		clk.set(at)
		first, rep, err := l.Post(ctx, p)
		if err != nil || rep {
			t.Fatalf("%s: %v %v", key, rep, err)
		}
		// The window's key expires (Redis's clock) no sooner than a TTL
		// after the write: the end of the next window.
		left, err := redis.Int64(c.Do("TTL", keyspace.IdempotencyWindow+"u1:17000000"))
		if want := int64(2*ttl/time.Second) - int64(at.Sub(w)/time.Second); err != nil || left < int64(ttl/time.Second) || left > want {
			t.Fatalf("%s at %s: window key TTL %d s (%v), want %d", key, at.Sub(w), left, err, want)
		}
		clk.set(at.Add(ttl - time.Millisecond))
		again, rep, err := l.Post(ctx, p)
		if err != nil || !rep || again.ID != first.ID {
			t.Fatalf("%s: retry a TTL later: %+v %v %v, want the replay of %s", key, again, rep, err, first.ID)
		}
		other := p
		other.Amount, other.Idem.Hash = 2, "h2"
		if _, _, err := l.Post(ctx, other); !errors.Is(err, bank.ErrIdempotencyConflict) {
			t.Fatalf("%s: another request under the key a TTL later: %v", key, err)
		}
		clk.set(w.Add(2 * ttl))
		if _, rep, err := l.Post(ctx, p); err != nil || rep {
			t.Fatalf("%s: two windows later the key is new again: %v %v", key, rep, err)
		}
	}
}

// For one TTL after the upgrade, the records of the release before (one
// hash per key) still replay and refuse: a retry across the deploy
// cannot pay twice.
func TestLegacyIdempotencyRecordHonoured(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 10_000, "EUR")
	p := ledger.Posting{From: a.Number, To: b.Number, Amount: 700, Currency: "EUR", Idem: ledger.Idem{Scope: "u1", Key: "before-the-deploy", Hash: "h1"}}
	old, err := l.PostLegacy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	tr, rep, err := l.Post(ctx, p)
	if err != nil || !rep || tr.ID != old || tr.Amount != 700 {
		t.Fatalf("retry after the upgrade: %+v %v %v, want the replay of %s", tr, rep, err, old)
	}
	p.Idem.Hash = "h2"
	if _, _, err := l.Post(ctx, p); !errors.Is(err, bank.ErrIdempotencyConflict) {
		t.Fatalf("another request under a legacy key: %v", err)
	}
	if got := balance(t, l, a.Number).Balance; got != 9_300 {
		t.Fatalf("balance %d, want 9300: the transfer exactly once", got)
	}
}

// Concurrent duplicates of one request post exactly once, also while the
// ledger's clock crosses from one idempotency window into the next (half
// of them in each), and a different request under the key is refused.
func TestConcurrentDuplicatesPostOnce(t *testing.T) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(t)
	const ttl = 100 * time.Second
	boundary := time.Unix(17_000_001*100, 0)
	// Two ledgers on one Redis, one a millisecond before the boundary,
	// one at it: two api replicas whose clocks straddle it.
	early := ledger.New(pool)
	early.IdempotencyTTL, l.IdempotencyTTL = ttl, ttl
	early.Now = func() time.Time { return boundary.Add(-time.Millisecond) }
	l.Now = func() time.Time { return boundary }
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 1_000_000, "EUR")
	for round := 0; round < 20; round++ {
		key := "dup-" + strconv.Itoa(round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[string]int{}
		fresh, conflicts := 0, 0
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				led := l
				if g%2 == 0 {
					led = early
				}
				amount := int64(10)
				if g == 15 {
					amount = 11 // a different request under the same key
				}
				tr, rep, err := led.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: amount, Currency: "EUR",
					Idem: ledger.Idem{Scope: "u1", Key: key, Hash: strconv.FormatInt(amount, 10)}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, bank.ErrIdempotencyConflict):
					conflicts++
				case err != nil:
					t.Error(err)
				default:
					ids[tr.ID]++
					if !rep {
						fresh++
					}
				}
			}()
		}
		wg.Wait()
		// The odd one out either came first (and the others conflict) or
		// is refused; either way one posting for the key.
		if fresh != 1 || len(ids) != 1 || (conflicts != 1 && conflicts != 15) {
			t.Fatalf("%s: %d fresh postings, ids %v, %d conflicts", key, fresh, ids, conflicts)
		}
	}
	sum := int64(0)
	for _, n := range []string{a.Number, b.Number} {
		es, err := l.EntriesBetween(ctx, n, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind == bank.PostingTransfer {
				sum += e.Amount
			}
		}
	}
	got := balance(t, l, b.Number).Balance
	if got < 20*10 || got > 20*11 || sum != 0 {
		t.Fatalf("payee balance %d after 20 keys, journal sum %d: not exactly one posting each", got, sum)
	}
	rep, err := l.Reconcile(ctx)
	if err != nil || !rep.Balanced() {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
}
