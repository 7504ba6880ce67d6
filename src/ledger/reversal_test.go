package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// reversalSetup opens payer a and payee b, and moves amount from a to b.
func reversalSetup(t *testing.T, l *ledger.Ledger, amount int64) (a, b bank.Account, tr bank.Transfer) {
	t.Helper()
	a = open(t, l, "u1", bank.Checking, "EUR", 0)
	b = open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 10_000, "EUR")
	tr, _, err := l.Post(context.Background(), ledger.Posting{From: a.Number, To: b.Number, Amount: amount, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, tr
}

func requestReversal(t *testing.T, l *ledger.Ledger, tid string, amount int64, by string) bank.Reversal {
	t.Helper()
	r, _, err := l.RequestReversal(context.Background(), ledger.ReversalRequest{TransferID: tid, Amount: amount, Reason: "wrong payee", RequestedBy: by})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func transfer(t *testing.T, l *ledger.Ledger, id string) bank.Transfer {
	t.Helper()
	tr, err := l.Transfer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func reconciled(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	rep, err := l.ReconcileFull(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Balanced() {
		t.Fatalf("ledger does not reconcile: %+v", rep)
	}
}

func TestReversalWholeAndPartial(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a, b, tr := reversalSetup(t, l, 1000)

	part := requestReversal(t, l, tr.ID, 300, "teller1")
	if part.Status != bank.ReversalPending || part.From != b.Number || part.To != a.Number || part.Amount != 300 || part.Currency != "EUR" {
		t.Fatalf("pending reversal = %+v", part)
	}
	if balance(t, l, b.Number).Balance != 1000 {
		t.Fatal("a request moved money")
	}
	pending, err := l.Reversals(ctx, bank.ReversalPending, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != part.ID {
		t.Fatalf("pending = %+v, %v", pending, err)
	}

	got, replayed, err := l.ApproveReversal(ctx, part.ID, "admin2", ledger.Idem{})
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	if got.Status != bank.ReversalApproved || got.DecidedBy != "admin2" || got.DecidedAt == nil || got.PostingID == "" {
		t.Fatalf("approved reversal = %+v", got)
	}
	if balance(t, l, a.Number).Balance != 9300 || balance(t, l, b.Number).Balance != 700 {
		t.Fatal("balances after the partial reversal are wrong")
	}
	posting := transfer(t, l, got.PostingID)
	if posting.Kind != bank.PostingReversal || posting.From != b.Number || posting.To != a.Number || posting.Amount != 300 ||
		posting.ReversalOf != tr.ID || posting.ReversalID != part.ID {
		t.Fatalf("reversal posting = %+v", posting)
	}
	orig := transfer(t, l, tr.ID)
	if orig.Reversed != 300 || len(orig.Reversals) != 1 || orig.Reversals[0] != part.ID || orig.Amount != 1000 || orig.Kind != bank.PostingTransfer {
		t.Fatalf("original after a partial reversal = %+v", orig)
	}

	// Amount 0: the whole remainder.
	rest := requestReversal(t, l, tr.ID, 0, "teller1")
	if rest.Amount != 700 {
		t.Fatalf("remainder reversal amount = %d, want 700", rest.Amount)
	}
	rest, _, err = l.ApproveReversal(ctx, rest.ID, "admin2", ledger.Idem{})
	if err != nil {
		t.Fatal(err)
	}
	orig = transfer(t, l, tr.ID)
	if orig.Reversed != 1000 || len(orig.Reversals) != 2 || orig.Reversals[1] != rest.ID {
		t.Fatalf("original after full reversal = %+v", orig)
	}
	if balance(t, l, a.Number).Balance != 10_000 || balance(t, l, b.Number).Balance != 0 {
		t.Fatal("balances after the full reversal are wrong")
	}
	// Both histories show the reversal as a normal journal entry.
	for _, n := range []string{a.Number, b.Number} {
		es, _, err := l.Entries(ctx, ledger.EntryQuery{Account: n, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if es[0].Kind != bank.PostingReversal || es[0].TransferID != rest.PostingID {
			t.Fatalf("newest entry of %s = %+v", n, es[0])
		}
	}
	// Nothing remains: a new request, and a reversal of a reversal, are refused.
	_, _, err = l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: tr.ID, Amount: 1, Reason: "again", RequestedBy: "teller1"})
	wantErr(t, err, bank.ErrReversalExceeds)
	_, _, err = l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: posting.ID, Reason: "undo", RequestedBy: "teller1"})
	wantErr(t, err, bank.ErrTransferNotReversible)
	_, _, err = l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: "tr_nope", Reason: "x", RequestedBy: "teller1"})
	wantErr(t, err, bank.ErrTransferNotFound)
	approved, err := l.Reversals(ctx, bank.ReversalApproved, 10)
	if err != nil || len(approved) != 2 {
		t.Fatalf("approved = %+v, %v", approved, err)
	}
	if evs := outbox(t, l); evs[len(evs)-1].Type != "transfer.reversed" || evs[len(evs)-1].ID != rest.PostingID {
		t.Fatalf("last outbox event = %+v", evs[len(evs)-1])
	}
	reconciled(t, l)
}

func TestReversalRefusals(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	_, b, tr := reversalSetup(t, l, 1000)

	_, _, err := l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: tr.ID, Amount: 1001, Reason: "too much", RequestedBy: "t"})
	wantErr(t, err, bank.ErrReversalExceeds)
	if _, _, err := l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: tr.ID, Amount: 10, RequestedBy: "t"}); bank.ErrorCode(err) != "invalid_reason" {
		t.Fatalf("no reason: %v", err)
	}

	// Two pending requests may together exceed the transfer; the second
	// approval is refused and stays pending.
	r1 := requestReversal(t, l, tr.ID, 800, "admin1")
	r2 := requestReversal(t, l, tr.ID, 800, "admin1")
	_, _, err = l.ApproveReversal(ctx, r1.ID, "admin1", ledger.Idem{})
	wantErr(t, err, bank.ErrFourEyes)
	_, _, err = l.RejectReversal(ctx, r1.ID, "admin1", "no", ledger.Idem{})
	wantErr(t, err, bank.ErrFourEyes)
	if _, _, err := l.ApproveReversal(ctx, r1.ID, "admin2", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = l.ApproveReversal(ctx, r2.ID, "admin2", ledger.Idem{})
	wantErr(t, err, bank.ErrReversalExceeds)
	if got, _ := l.Reversal(ctx, r2.ID); got.Status != bank.ReversalPending {
		t.Fatalf("refused reversal = %+v, want pending", got)
	}

	// Reject: pending -> rejected, with its reason; then neither approvable nor rejectable anew.
	got, _, err := l.RejectReversal(ctx, r2.ID, "admin3", "exceeds the transfer", ledger.Idem{})
	if err != nil || got.Status != bank.ReversalRejected || got.RejectReason != "exceeds the transfer" || got.DecidedBy != "admin3" {
		t.Fatalf("rejected = %+v, %v", got, err)
	}
	_, _, err = l.ApproveReversal(ctx, r2.ID, "admin2", ledger.Idem{})
	wantErr(t, err, bank.ErrReversalNotPending)
	_, _, err = l.RejectReversal(ctx, r1.ID, "admin2", "late", ledger.Idem{})
	wantErr(t, err, bank.ErrReversalNotPending)
	if _, replayed, err := l.RejectReversal(ctx, r2.ID, "admin3", "again", ledger.Idem{}); err != nil || !replayed {
		t.Fatal("rejecting twice:", err, replayed)
	}
	_, _, err = l.ApproveReversal(ctx, "rv_nope", "admin2", ledger.Idem{})
	wantErr(t, err, bank.ErrReversalNotFound)
	if pending, _ := l.Reversals(ctx, bank.ReversalPending, 10); len(pending) != 0 {
		t.Fatalf("pending = %+v", pending)
	}
	if transfer(t, l, tr.ID).Reversed != 800 || balance(t, l, b.Number).Balance != 200 {
		t.Fatal("refusals moved money")
	}
	reconciled(t, l)
}

// The payee spent the money: insufficient_funds, and the reversal stays
// pending until it can be approved or is rejected.
func TestReversalPayeeWithoutFunds(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a, b, tr := reversalSetup(t, l, 1000)
	r := requestReversal(t, l, tr.ID, 1000, "teller1")
	if _, _, err := l.Post(ctx, ledger.Posting{From: b.Number, To: a.Number, Amount: 600, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := l.ApproveReversal(ctx, r.ID, "admin2", ledger.Idem{})
	wantErr(t, err, bank.ErrInsufficientFunds)
	if got, _ := l.Reversal(ctx, r.ID); got.Status != bank.ReversalPending {
		t.Fatalf("reversal = %+v, want pending", got)
	}
	if transfer(t, l, tr.ID).Reversed != 0 {
		t.Fatal("a refused approval counted as reversed")
	}
	deposit(t, l, b.Number, 600, "EUR")
	if got, _, err := l.ApproveReversal(ctx, r.ID, "admin2", ledger.Idem{}); err != nil || got.Status != bank.ReversalApproved {
		t.Fatal(got, err)
	}
	reconciled(t, l)
}

func TestReversalApproveTwicePostsOnce(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	_, b, tr := reversalSetup(t, l, 1000)
	r := requestReversal(t, l, tr.ID, 400, "teller1")
	idem := ledger.Idem{Scope: "admin2", Key: "k", Hash: "h"}
	first, replayed, err := l.ApproveReversal(ctx, r.ID, "admin2", idem)
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	// The same key again, and another admin without one: nothing posts.
	for _, again := range []struct {
		by   string
		idem ledger.Idem
	}{{"admin2", idem}, {"admin3", ledger.Idem{}}} {
		got, replayed, err := l.ApproveReversal(ctx, r.ID, again.by, again.idem)
		if err != nil || !replayed || got.PostingID != first.PostingID {
			t.Fatalf("second approval by %s: %+v, %v, %v", again.by, got, replayed, err)
		}
	}
	_, _, err = l.ApproveReversal(ctx, r.ID, "admin2", ledger.Idem{Scope: "admin2", Key: "k", Hash: "other"})
	wantErr(t, err, bank.ErrIdempotencyConflict)
	if transfer(t, l, tr.ID).Reversed != 400 || balance(t, l, b.Number).Balance != 600 {
		t.Fatal("approving twice posted twice")
	}
	n := 0
	for _, ev := range outbox(t, l) {
		if ev.Type == "transfer.reversed" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d transfer.reversed events, want 1", n)
	}
}

// Many admins approve different partial reversals of one transfer at once
// (together far more than it moved): never more than the original is paid
// back, and the ledger still reconciles.
func TestConcurrentReversalsNeverExceedTheTransfer(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a, b, tr := reversalSetup(t, l, 1000)
	deposit(t, l, b.Number, 100_000, "EUR") // the payee's funds are not the limit
	const n, each = 40, 70
	ids := make([]string, n)
	for i := range ids {
		ids[i] = requestReversal(t, l, tr.ID, each, "teller1").ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	approved := 0
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := l.ApproveReversal(ctx, id, fmt.Sprintf("admin%d", i), ledger.Idem{})
			switch {
			case err == nil:
				mu.Lock()
				approved++
				mu.Unlock()
			case bank.ErrorCode(err) != "reversal_exceeds_transfer":
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	orig := transfer(t, l, tr.ID)
	if want := int64(1000 / each * each); orig.Reversed != want || approved != 1000/each || len(orig.Reversals) != approved {
		t.Fatalf("reversed %d by %d approvals (%d linked), want %d", orig.Reversed, approved, len(orig.Reversals), want)
	}
	if got := balance(t, l, a.Number).Balance; got != 9000+orig.Reversed {
		t.Fatalf("payer balance %d", got)
	}
	reconciled(t, l)
}

// The usual fraud case: money lands on an account, the bank freezes it,
// then reverses the posting. The freeze stops the owner, not the
// four-eyes reversal; a closed account still refuses.
func TestReversalFromAFrozenAccount(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a, b, tr := reversalSetup(t, l, 1000)
	if _, err := l.SetStatus(ctx, b.Number, ledger.ActionFreeze); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Post(ctx, ledger.Posting{From: b.Number, To: a.Number, Amount: 1, Currency: "EUR"}); !errors.Is(err, bank.ErrAccountFrozen) {
		t.Fatalf("the frozen owner sent money: %v", err)
	}
	r := requestReversal(t, l, tr.ID, 1000, "teller1")
	if got, _, err := l.ApproveReversal(ctx, r.ID, "admin2", ledger.Idem{}); err != nil || got.Status != bank.ReversalApproved {
		t.Fatalf("reversal out of a frozen account: %+v %v", got, err)
	}
	if bal := balance(t, l, b.Number).Balance; bal != 0 {
		t.Fatalf("frozen payee's balance %d after the reversal, want 0", bal)
	}
	reconciled(t, l)
}
