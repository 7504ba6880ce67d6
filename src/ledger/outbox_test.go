package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

func outbox(t *testing.T, l *ledger.Ledger) []ledger.OutboxEvent {
	t.Helper()
	evs, err := l.OutboxEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Every new posting appends its event to the outbox in the same script;
// replays, refusals, voids and PostOnce re-runs append nothing.
func TestOutboxGetsNewPostingsOnly(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 10_000, "EUR")
	idem := ledger.Idem{Scope: "u1", Key: "k1", Hash: "h1"}
	tr, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR", Idem: idem})
	if err != nil {
		t.Fatal(err)
	}
	if _, r, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 100, Currency: "EUR", Idem: idem}); err != nil || !r {
		t.Fatal(err, r)
	}
	if _, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 1_000_000, Currency: "EUR"}); err == nil {
		t.Fatal("an overdrawing transfer went through")
	}
	h1, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: b.Number, Amount: 300, Currency: "EUR", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h2, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: b.Number, Amount: 200, Currency: "EUR", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	capIdem := ledger.Idem{Scope: "u2", Key: "c1", Hash: "hc"}
	if _, _, err := l.Capture(ctx, h1.ID, 250, "", "u2", capIdem); err != nil {
		t.Fatal(err)
	}
	if _, r, err := l.Capture(ctx, h1.ID, 250, "", "u2", capIdem); err != nil || !r {
		t.Fatal(err, r)
	}
	if _, _, err := l.Void(ctx, h2.ID, "u1", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	p := ledger.Posting{From: a.Number, To: b.Number, Amount: 50, Currency: "EUR", Kind: bank.PostingStandingOrder}
	var once string
	for i := 0; i < 2; i++ {
		o, err := l.PostOnce(ctx, p, "bank:test:runs", "2026-01-01")
		if err != nil || !o.Executed {
			t.Fatal(o, err)
		}
		once = o.TransferID
	}
	evs := outbox(t, l)
	var got []string
	for _, e := range evs {
		got = append(got, e.Type+" "+e.ID)
	}
	// The first event is the setup deposit's.
	want := []string{"transfer.completed " + tr.ID, "hold.captured " + h1.ID, "transfer.completed " + once}
	if len(got) != 4 || got[1] != want[0] || got[2] != want[1] || got[3] != want[2] {
		t.Fatalf("outbox %q, want a deposit then %q", got, want)
	}
	if evs[1].At.IsZero() {
		t.Fatalf("event without its posting time: %+v", evs[1])
	}
	if err := l.AckOutbox(ctx, evs[0].StreamID, evs[1].StreamID); err != nil {
		t.Fatal(err)
	}
	if n := len(outbox(t, l)); n != 2 {
		t.Fatalf("%d events after acking 2 of 4", n)
	}
}
