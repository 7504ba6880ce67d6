package standing

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
)

type env struct {
	l        *ledger.Ledger
	s        *Store
	pool     *redis.Pool
	from, to string
	now      time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := redistest.Start(t)
	e := &env{pool: srv.Pool(t), now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	e.l = ledger.New(e.pool)
	e.l.Now = func() time.Time { return e.now }
	ctx := context.Background()
	if err := e.l.EnsureSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	open := func(owner string) string {
		a, err := e.l.Open(ctx, ledger.OpenRequest{Owner: owner, Type: bank.Checking, Currency: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		return a.Number
	}
	e.from, e.to = open("alice"), open("bob")
	if _, _, err := e.l.Deposit(ctx, e.from, 1_000_000, "EUR", "", "teller", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	e.s = NewStore(e.pool, e.l, time.UTC)
	return e
}

func (e *env) order(t *testing.T, count int) Order {
	t.Helper()
	o, _, err := e.s.Create(context.Background(), "alice", Request{From: e.from, To: e.to, Amount: 100, Currency: "EUR",
		Frequency: Daily, FirstDate: "2026-01-01", Count: count}, e.now, ledger.Idem{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// settled checks that an acknowledged cancel held: the order is still
// cancelled, out of the due index, and has exactly wantRuns runs.
func (e *env) settled(t *testing.T, id string, wantRuns int) {
	t.Helper()
	o, err := e.s.Get(context.Background(), "", id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != Cancelled {
		t.Fatalf("status %q after an acknowledged cancel, want cancelled", o.Status)
	}
	if len(o.Runs) != wantRuns {
		t.Fatalf("runs %+v, want %d (paid after the cancel?)", o.Runs, wantRuns)
	}
	c := e.pool.Get()
	defer c.Close()
	if _, err := redis.Int64(c.Do("ZSCORE", keyDue, id)); !errors.Is(err, redis.ErrNil) {
		t.Fatalf("cancelled order is back in the due index (err %v)", err)
	}
}

func setHook(t *testing.T, h func(stage, id string)) {
	testHook = h
	t.Cleanup(func() { testHook = nil })
}

// A cancel acknowledged after Execute loaded the order as active, but
// before the payment, must stop that payment.
func TestCancelBetweenLoadAndPay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	o := e.order(t, 0)
	setHook(t, func(stage, id string) {
		if stage == "pay" && id == o.ID {
			if _, err := e.s.Cancel(ctx, "alice", id); err != nil && !errors.Is(err, ErrNotActive) {
				t.Error(err)
			}
		}
	})
	res, err := e.s.Execute(ctx, o.ID, bank.NewDay(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 0 {
		t.Fatalf("paid after the cancel: %+v", res)
	}
	e.settled(t, o.ID, 0)
	if b, _ := e.l.Account(ctx, e.to); b.Balance != 0 {
		t.Fatalf("payee got %d after the cancel", b.Balance)
	}
	// Later runs find nothing and leave it cancelled.
	testHook = nil
	if res, err := e.s.Execute(ctx, o.ID, bank.NewDay(time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC), time.UTC)); err != nil || len(res) != 0 {
		t.Fatalf("run after cancel: %+v %v", res, err)
	}
	e.settled(t, o.ID, 0)
}

// A cancel acknowledged just before Execute ends an order whose last date
// was paid must not be overwritten with "completed".
func TestCancelBeforeCompleteStaysCancelled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	o := e.order(t, 1)
	setHook(t, func(stage, id string) {
		if stage == "complete" && id == o.ID {
			if _, err := e.s.Cancel(ctx, "alice", id); err != nil {
				t.Errorf("cancel of an active order: %v", err)
			}
		}
	})
	if _, err := e.s.Execute(ctx, o.ID, bank.NewDay(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), time.UTC)); err != nil {
		t.Fatal(err)
	}
	e.settled(t, o.ID, 1)
}

// Many rounds of a cancel racing two executions: whenever the cancel is
// acknowledged, no date is paid after it, the order stays cancelled and
// leaves the due index; when it is refused, the order had completed.
func TestCancelRacingExecute(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	day := bank.NewDay(time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.UTC)
	for round := 0; round < 40; round++ {
		o := e.order(t, 3)
		var (
			wg        sync.WaitGroup
			cancelErr error
			runsAtAck int
		)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.s.Execute(ctx, o.ID, day); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, cancelErr = e.s.Cancel(ctx, "alice", o.ID)
			if cancelErr == nil {
				got, err := e.s.Get(ctx, "", o.ID)
				if err != nil {
					t.Error(err)
				}
				runsAtAck = len(got.Runs)
			}
		}()
		wg.Wait()
		switch {
		case cancelErr == nil:
			e.settled(t, o.ID, runsAtAck)
		case errors.Is(cancelErr, ErrNotActive):
			got, _ := e.s.Get(ctx, "", o.ID)
			if got.Status != Completed || len(got.Runs) != 3 {
				t.Fatalf("round %d: cancel refused but order is %s with %d runs", round, got.Status, len(got.Runs))
			}
		default:
			t.Fatal(cancelErr)
		}
	}
}

// Creation goes through the ledger's one idempotency record: the same key
// and fingerprint replay the first order, another fingerprint is a
// conflict. Orders keep their own key space, as they always have: a key
// a transfer used creates an order.
func TestCreateIsIdempotentThroughTheLedgersRecord(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	req := Request{From: e.from, To: e.to, Amount: 100, Currency: "EUR", Frequency: Daily, FirstDate: "2026-01-01"}
	idem := ledger.Idem{Scope: "alice", Key: "k", Hash: "h1"}
	first, replayed, err := e.s.Create(ctx, "alice", req, e.now, idem)
	if err != nil || replayed {
		t.Fatalf("first create: %v replayed=%v", err, replayed)
	}
	again, replayed, err := e.s.Create(ctx, "alice", req, e.now, idem)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("replay: %+v replayed=%v err=%v", again, replayed, err)
	}
	if _, _, err := e.s.Create(ctx, "alice", req, e.now, ledger.Idem{Scope: "alice", Key: "k", Hash: "h2"}); !errors.Is(err, bank.ErrIdempotencyConflict) {
		t.Fatalf("other request under the same key: %v, want idempotency_conflict", err)
	}
	if _, _, err := e.l.Post(ctx, ledger.Posting{From: e.from, To: e.to, Amount: 1, Currency: "EUR",
		InitiatedBy: "alice", Idem: ledger.Idem{Scope: "alice", Key: "t", Hash: "transfer"}}); err != nil {
		t.Fatal(err)
	}
	if _, replayed, err := e.s.Create(ctx, "alice", req, e.now, ledger.Idem{Scope: "alice", Key: "t", Hash: "order"}); err != nil || replayed {
		t.Fatalf("a transfer's key used for an order: %v replayed=%v, want a new order", err, replayed)
	}
	if list, _ := e.s.List(ctx, "alice"); len(list) != 2 {
		t.Fatalf("%d orders, want 2", len(list))
	}
}

// Across the upgrade to the shared record: a retry of an order created by
// an older release (its own "hash:id" record) replays that order, another
// request under its key is a conflict, and a new order also writes the
// older record, for a retry that reaches an older pod.
func TestCreateHonoursTheOlderReleasesRecord(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	req := Request{From: e.from, To: e.to, Amount: 100, Currency: "EUR", Frequency: Daily, FirstDate: "2026-01-01"}
	old := e.order(t, 0)
	c := e.pool.Get()
	defer c.Close()
	if _, err := c.Do("SET", keyspace.StandingIdemLegacy+"alice:old", req.legacyHash()+":"+old.ID, "EX", 3600); err != nil {
		t.Fatal(err)
	}
	got, replayed, err := e.s.Create(ctx, "alice", req, e.now, ledger.Idem{Scope: "alice", Key: "old", Hash: "fp"})
	if err != nil || !replayed || got.ID != old.ID {
		t.Fatalf("retry of an older release's order: %+v replayed=%v err=%v", got, replayed, err)
	}
	other := req
	other.Amount = 101
	if _, _, err := e.s.Create(ctx, "alice", other, e.now, ledger.Idem{Scope: "alice", Key: "old", Hash: "fp2"}); !errors.Is(err, bank.ErrIdempotencyConflict) {
		t.Fatalf("other request under an older release's key: %v, want idempotency_conflict", err)
	}
	o, _, err := e.s.Create(ctx, "alice", req, e.now, ledger.Idem{Scope: "alice", Key: "new", Hash: "fp"})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := redis.String(c.Do("GET", keyspace.StandingIdemLegacy+"alice:new"))
	if err != nil || legacy != req.legacyHash()+":"+o.ID {
		t.Fatalf("older release's record %q (%v), want %q", legacy, err, req.legacyHash()+":"+o.ID)
	}
	if list, _ := e.s.List(ctx, "alice"); len(list) != 2 {
		t.Fatalf("%d orders, want 2", len(list))
	}
}
