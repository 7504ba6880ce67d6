package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

type env struct {
	srv  *redistest.Server
	pool *redis.Pool
	l    *ledger.Ledger
	r    *jobs.Runner
	// hooks is the webhook store the runner delivers from.
	hooks *webhooks.Store
	now   time.Time
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t testing.TB, o jobs.Options) *env {
	t.Helper()
	srv := redistest.Start(t)
	e := &env{srv: srv, pool: srv.Pool(t), now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	e.l = ledger.New(e.pool)
	e.l.Now = func() time.Time { return e.now }
	if err := e.l.EnsureSystemAccounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o.Log == nil {
		o.Log = quiet
	}
	var d jobs.Deps
	d, e.hooks = newDeps(e.pool, e.l, o)
	e.r = jobs.New(d, o)
	return e
}

// hookOptions let webhooks reach the tests' local receivers (plain http,
// loopback).
var hookOptions = webhooks.Options{AllowPrivate: true}

// newDeps returns the dependencies of a runner with options o on pool
// (l's Redis), wired as cmd/bank wires the worker's, and the webhook store
// they deliver from.
func newDeps(pool *redis.Pool, l *ledger.Ledger, o jobs.Options) (jobs.Deps, *webhooks.Store) {
	loc := o.Location
	if loc == nil {
		loc = time.UTC // as jobs.New's default
	}
	hooks := webhooks.NewStore(pool, hookOptions)
	enq := work.NewEnqueuer(jobs.Namespace, pool)
	pub := delivery.NewPublisher(hooks, enq)
	return jobs.Deps{Ledger: l, Enqueuer: enq, Statements: statements.NewStore(pool), Standing: standing.NewStore(pool, l, loc),
		Publisher: pub, Relay: delivery.NewRelay(pool, l, pub, o.Log), Deliverer: delivery.NewDeliverer(hooks, hookOptions)}, hooks
}

// newRunner returns a runner with o on newDeps(pool, l, o).
func newRunner(pool *redis.Pool, l *ledger.Ledger, o jobs.Options) *jobs.Runner {
	d, _ := newDeps(pool, l, o)
	return jobs.New(d, o)
}

func (e *env) open(t testing.TB, owner string, typ bank.AccountType, rate int64) bank.Account {
	t.Helper()
	a, err := e.l.Open(context.Background(), ledger.OpenRequest{Owner: owner, Type: typ, Currency: "EUR", InterestRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) deposit(t testing.TB, acct string, amount int64) {
	t.Helper()
	if _, _, err := e.l.Deposit(context.Background(), acct, amount, "EUR", "", "teller", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) account(t testing.TB, n string) bank.Account {
	t.Helper()
	a, err := e.l.Account(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) balanced(t testing.TB) {
	t.Helper()
	rep, err := e.l.Reconcile(context.Background())
	if err != nil || !rep.Balanced() {
		t.Fatalf("ledger does not balance: %+v %v", rep, err)
	}
}

// waitIdle waits until no job is queued or running in the namespace.
func waitIdle(t testing.TB, pool *redis.Pool, timeout time.Duration) {
	t.Helper()
	busy := func() int {
		c := pool.Get()
		defer c.Close()
		n := 0
		for _, name := range jobs.Names() {
			q, _ := redis.Int(c.Do("LLEN", jobs.Namespace+":jobs:"+name))
			lock, _ := redis.Int(c.Do("GET", jobs.Namespace+":jobs:"+name+":lock"))
			n += q + lock
		}
		return n
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if busy() == 0 {
			time.Sleep(50 * time.Millisecond) // a handler may be enqueueing its fan-out
			if busy() == 0 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("jobs did not finish in time")
}

// interestEntries returns an account's interest journal entries.
func (e *env) interestEntries(t testing.TB, n string) []bank.Entry {
	t.Helper()
	all, err := e.l.EntriesBetween(context.Background(), n, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []bank.Entry
	for _, x := range all {
		if x.Kind == bank.PostingInterest {
			out = append(out, x)
		}
	}
	return out
}
