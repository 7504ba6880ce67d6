package jobs_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/webhooks"
	"github.com/kubebank/kubebank/src/worker"
)

// A posting made by a process that dies right after it (nothing announced
// anything: the API no longer does) still reaches the webhook, through
// the outbox its script wrote and the relay job; relaying the same event
// again, after a relay died before acking or before marking, sends nothing
// more.
func TestOutboxRelayNoLostNoDoubleEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{}) // webhooks to a local receiver
	alice := e.open(t, "alice", bank.Checking, 0)
	bob := e.open(t, "bob", bank.Checking, 0)
	e.deposit(t, alice.Number, 10_000)
	if _, err := e.r.RelayOutbox(ctx); err != nil { // the set-up deposit, before any webhook
		t.Fatal(err)
	}
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	h, err := e.hooks.Create(ctx, "bob", srv.URL, []string{webhooks.TransferCompleted, webhooks.HoldCaptured}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// The "process" posts a transfer and a capture, then dies.
	tr, _, err := e.l.Post(ctx, ledger.Posting{From: alice.Number, To: bob.Number, Amount: 1_234, Currency: "EUR", Idem: ledger.Idem{Scope: "alice", Key: "k", Hash: "h"}})
	if err != nil {
		t.Fatal(err)
	}
	hold, _, err := e.l.Authorize(ctx, ledger.HoldRequest{Account: alice.Number, Payee: bob.Number, Amount: 500, Currency: "EUR", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.l.Capture(ctx, hold.ID, 400, "", "bob", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	// A replay of the transfer adds no event.
	if _, r, err := e.l.Post(ctx, ledger.Posting{From: alice.Number, To: bob.Number, Amount: 1_234, Currency: "EUR", Idem: ledger.Idem{Scope: "alice", Key: "k", Hash: "h"}}); err != nil || !r {
		t.Fatal(err, r)
	}
	pending, err := e.l.OutboxEvents(ctx, 100)
	if err != nil || len(pending) != 2 {
		t.Fatalf("outbox %+v %v, want the transfer and the capture", pending, err)
	}

	// The relay runs as a job on a worker, as the scheduler enqueues it.
	w := worker.New(e.pool, e.r, worker.Options{Concurrency: 2, Webhook: jobs.Retry{Backoff: func(int64) int64 { return 0 }}})
	w.Start()
	defer w.Stop(time.Second)
	if _, err := e.r.Enqueue(jobs.OutboxRelay, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, bodies, _, _ := rc.snapshot(); len(bodies) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left, _ := e.l.OutboxEvents(ctx, 100); len(left) != 0 {
		t.Fatalf("outbox not trimmed after the relay: %+v", left)
	}

	// A relay that died after enqueueing but before acking: the entry is
	// still there on the next run (the relayed mark says it was sent).
	c := e.pool.Get()
	defer c.Close()
	readd := func() {
		t.Helper()
		if _, err := c.Do("XADD", ledger.KeyOutbox, "*", "type", webhooks.TransferCompleted, "id", tr.ID, "at", pending[0].At.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	readd()
	if n, err := e.r.RelayOutbox(ctx); err != nil || n != 1 {
		t.Fatalf("relay again: %d %v", n, err)
	}
	// A relay that died after enqueueing but before marking: deliveries
	// are enqueued again, and the receiver's delivered mark stops them.
	keys, err := redis.Strings(c.Do("KEYS", "bank:outbox:relayed:*"))
	if err != nil || len(keys) != 2 {
		t.Fatalf("relayed marks %v %v, want 2 (transfer, capture)", keys, err)
	}
	if _, err := c.Do("DEL", redis.Args{}.AddFlat(keys)...); err != nil {
		t.Fatal(err)
	}
	readd()
	if _, err := e.r.RelayOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e.pool, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a wrong extra delivery

	calls, bodies, _, ids := rc.snapshot()
	if calls != 2 || len(bodies) != 2 {
		t.Fatalf("receiver got %d calls (%d bodies), want 2: one transfer.completed, one hold.captured", calls, len(bodies))
	}
	got := map[string]string{}
	for i, b := range bodies {
		var ev struct {
			ID, Type string
			Data     struct{ ID string }
		}
		if err := json.Unmarshal(b, &ev); err != nil || ev.ID != ids[i] {
			t.Fatalf("body %s: %v", b, err)
		}
		got[ev.Type] = ev.Data.ID
	}
	if got[webhooks.TransferCompleted] != tr.ID || got[webhooks.HoldCaptured] != hold.ID {
		t.Fatalf("events %v, want transfer %s and hold %s", got, tr.ID, hold.ID)
	}
	_ = h
}
