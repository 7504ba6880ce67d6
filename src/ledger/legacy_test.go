package ledger_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

// Transfers stored before the journal was the record keep their tr_<24
// hex> ids and hashes: this release reads them (GET, the journal's ids,
// the outbox's event, the till report's initiator) and reverses them,
// while new postings get ids of the journal's form.
func TestLegacyTransfersStillServe(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	cash, _ := ledger.SystemAccount(bank.PurposeTellerCash, "EUR")
	start := time.Now().Add(-time.Minute)
	old, err := l.PostLegacy(ctx, ledger.Posting{From: cash, To: a.Number, Amount: 10_000, Currency: "EUR",
		Kind: bank.PostingDeposit, Description: "Cash deposit", InitiatedBy: "tina", Touch: ledger.TouchTo})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^tr_[0-9a-f]{24}$`).MatchString(old) {
		t.Fatalf("the old release's id %q", old)
	}
	time.Sleep(2 * time.Millisecond)
	tr, err := l.Transfer(ctx, old)
	if err != nil || tr.ID != old || tr.From != cash || tr.To != a.Number || tr.Amount != 10_000 || tr.InitiatedBy != "tina" ||
		tr.Kind != bank.PostingDeposit || tr.Currency != "EUR" || tr.Status != bank.TransferCompleted {
		t.Fatalf("legacy transfer: %+v %v", tr, err)
	}
	es, _, err := l.Entries(ctx, ledger.EntryQuery{Account: a.Number})
	if err != nil || len(es) != 1 || es[0].TransferID != old {
		t.Fatalf("journal %+v %v, want the legacy id", es, err)
	}
	evs := outbox(t, l)
	if last := evs[len(evs)-1]; last.ID != old {
		t.Fatalf("outbox ends with %+v, want the legacy posting's event", last)
	}

	// The till report finds the initiator of old and new postings alike.
	if _, _, err := l.Deposit(ctx, b.Number, 500, "EUR", "", "tina", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	till, err := l.TillOf(ctx, "tina", start, time.Now().Add(time.Minute))
	if err != nil || len(till.Totals) != 1 || till.Totals[0].Deposits != 10_500 || till.Totals[0].Postings != 2 {
		t.Fatalf("till %+v %v, want both deposits", till, err)
	}

	// A partial reversal of the legacy posting, requested and approved
	// by two admins: the original's hash gets the reversal fields, the
	// reversal posting is of the new form and names it.
	rv, _, err := l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: old, Amount: 4_000, Reason: "wrong account", RequestedBy: "ann"})
	if err != nil || rv.From != a.Number || rv.To != cash || rv.Amount != 4_000 {
		t.Fatalf("request: %+v %v", rv, err)
	}
	rv, _, err = l.ApproveReversal(ctx, rv.ID, "bea", ledger.Idem{})
	if err != nil || rv.Status != bank.ReversalApproved {
		t.Fatalf("approve: %+v %v", rv, err)
	}
	tr, err = l.Transfer(ctx, old)
	if err != nil || tr.Reversed != 4_000 || len(tr.Reversals) != 1 || tr.Reversals[0] != rv.ID || tr.InitiatedBy != "tina" {
		t.Fatalf("original after the reversal: %+v %v", tr, err)
	}
	p, err := l.Transfer(ctx, rv.PostingID)
	if err != nil || p.ReversalOf != old || p.ReversalID != rv.ID || p.From != a.Number || p.Amount != 4_000 || p.InitiatedBy != "bea" {
		t.Fatalf("reversal posting %q: %+v %v", rv.PostingID, p, err)
	}
	if !newID.MatchString(p.ID) {
		t.Fatalf("reversal posting id %q is not of the journal's form", p.ID)
	}
	// What remains is 6,000: more is refused.
	if _, _, err := l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: old, Amount: 6_001, Reason: "again", RequestedBy: "ann"}); bank.ErrorCode(err) != "reversal_exceeds_transfer" {
		t.Fatalf("over-reversal of a legacy posting: %v", err)
	}
	if got := balance(t, l, a.Number).Balance; got != 6_000 {
		t.Fatalf("balance %d, want 6000", got)
	}
	rep, err := l.Reconcile(ctx)
	if err != nil || !rep.Balanced() {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
}

// newID is the journal's form of a transfer id.
var newID = regexp.MustCompile(`^tr_[0-9]{10}_[0-9]+-[0-9]+$`)

// A transfer's record is its sender's journal entry: the id names it, the
// record has every field the hash had, and no id can pass off another
// entry (the receiver's, another account's) as a record.
func TestTransferRecordIsTheJournal(t *testing.T) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(t)
	a := open(t, l, "u1", bank.Checking, "EUR", 0)
	b := open(t, l, "u2", bank.Checking, "EUR", 0)
	deposit(t, l, a.Number, 10_000, "EUR")
	before := time.Now().Add(-time.Second)
	tr, _, err := l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: 1_234, Currency: "EUR", Description: "rent", InitiatedBy: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if !newID.MatchString(tr.ID) {
		t.Fatalf("id %q", tr.ID)
	}
	got, err := l.Transfer(ctx, tr.ID)
	if err != nil || got.From != a.Number || got.To != b.Number || got.Amount != 1_234 || got.Currency != "EUR" || got.Description != "rent" ||
		got.InitiatedBy != "u1" || got.Kind != bank.PostingTransfer || got.Status != bank.TransferCompleted || got.CreatedAt.Before(before) {
		t.Fatalf("record %+v %v", got, err)
	}
	if !reflect.DeepEqual(got, tr) {
		t.Fatalf("Post answered %+v, the record is %+v", tr, got)
	}
	ea, _, _ := l.Entries(ctx, ledger.EntryQuery{Account: a.Number, Limit: 1})
	eb, _, _ := l.Entries(ctx, ledger.EntryQuery{Account: b.Number, Limit: 1})
	if ea[0].TransferID != tr.ID || eb[0].TransferID != tr.ID || tr.ID != "tr_"+a.Number+"_"+ea[0].ID || !got.CreatedAt.Equal(ea[0].Time) {
		t.Fatalf("entries %+v %+v, transfer %s", ea[0], eb[0], tr.ID)
	}
	for _, id := range []string{
		"tr_" + b.Number + "_" + eb[0].ID, // the receiver's entry
		"tr_" + a.Number + "_1-0",         // no such entry
		"tr_9999999999_" + ea[0].ID,       // no such account
		// The same entry spelled with leading zeros, which Redis reads as
		// the same stream id: another name for one posting would keep a
		// second running total of what was reversed.
		"tr_" + a.Number + "_0" + ea[0].ID,
		"tr_" + a.Number + "_" + strings.Replace(ea[0].ID, "-", "-0", 1),
	} {
		if _, err := l.Transfer(ctx, id); !errors.Is(err, bank.ErrTransferNotFound) {
			t.Errorf("%s: %v, want transfer_not_found", id, err)
		}
	}
	// A posting writes no key of its own...
	c := pool.Get()
	defer c.Close()
	if n, err := redis.Int(c.Do("EXISTS", keyspace.Transfer+tr.ID)); err != nil || n != 0 {
		t.Fatalf("a plain transfer wrote %s: %d %v", keyspace.Transfer+tr.ID, n, err)
	}
	// ... a capture's hold is in its entries...
	h, _, err := l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: b.Number, Amount: 300, Currency: "EUR", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h, _, err = l.Capture(ctx, h.ID, 200, "", "u2", ledger.Idem{})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.Transfer(ctx, h.TransferID)
	if err != nil || cp.HoldID != h.ID || cp.Kind != bank.PostingCapture || cp.Amount != 200 || cp.InitiatedBy != "u2" || !newID.MatchString(cp.ID) {
		t.Fatalf("capture %+v %v", cp, err)
	}
	// ... and a reversal adds the small hash of links, to both postings.
	rv, _, err := l.RequestReversal(ctx, ledger.ReversalRequest{TransferID: tr.ID, Amount: 234, Reason: "typo", RequestedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if rv, _, err = l.ApproveReversal(ctx, rv.ID, "bea", ledger.Idem{}); err != nil {
		t.Fatal(err)
	}
	got, err = l.Transfer(ctx, tr.ID)
	if err != nil || got.Reversed != 234 || len(got.Reversals) != 1 || got.Reversals[0] != rv.ID || got.Amount != 1_234 {
		t.Fatalf("reversed original %+v %v", got, err)
	}
	p, err := l.Transfer(ctx, rv.PostingID)
	if err != nil || p.ReversalOf != tr.ID || p.ReversalID != rv.ID || p.From != b.Number || p.To != a.Number || p.Kind != bank.PostingReversal {
		t.Fatalf("reversal posting %+v %v", p, err)
	}
}
