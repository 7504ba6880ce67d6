package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/webhooks"
)

// The reversal routes end to end, with roles: customers are refused,
// tellers may request but not decide, the requester may not decide, a
// second admin may; both histories show the reversal posting, and a
// webhook subscribed to transfer.reversed gets it through the outbox.
func TestReversalRoutes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	teller := e.user(t, "teller", bank.Teller)
	admin1 := e.user(t, "admin1", bank.Admin)
	admin2 := e.user(t, "admin2", bank.Admin)
	a := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR"})
	b := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})
	e.deposit(t, teller, a.Number, 10_000, "EUR")
	r := e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(), Body: map[string]any{"from": a.Number, "to": b.Number, "amount": 1000, "currency": "EUR"}})
	want(t, r, http.StatusCreated, "")
	var tr bank.Transfer
	r.decode(t, &tr)

	// Bob subscribes to reversals; earlier events are relayed first.
	pool := e.Pool
	enq := work.NewEnqueuer(jobs.Namespace, pool)
	relay := delivery.NewRelay(pool, e.Ledger, delivery.NewPublisher(webhooks.NewStore(pool, webhooks.Options{}), enq), nil)
	if _, err := relay.RelayOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/webhooks", Token: bob, Body: map[string]any{"url": "https://203.0.113.10/hook", "events": []string{"transfer.reversed"}}}), http.StatusCreated, "")

	const path = "/v1/admin/reversals"
	body := map[string]any{"transfer_id": tr.ID, "amount": 400, "reason": "sent to the wrong payee"}
	want(t, e.do(t, req{Method: "POST", Path: path, Token: alice, Key: newKey(), Body: body}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "GET", Path: path, Token: alice}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "POST", Path: path, Token: teller, Body: body}), http.StatusBadRequest, "idempotency_key_required")
	want(t, e.do(t, req{Method: "POST", Path: path, Token: teller, Key: newKey(), Body: map[string]any{"transfer_id": tr.ID, "reason": " "}}), http.StatusBadRequest, "invalid_reason")
	want(t, e.do(t, req{Method: "POST", Path: path, Token: teller, Key: newKey(), Body: map[string]any{"transfer_id": "nope", "reason": "x"}}), http.StatusBadRequest, "invalid_transfer_id")
	want(t, e.do(t, req{Method: "POST", Path: path, Token: teller, Key: newKey(), Body: map[string]any{"transfer_id": tr.ID, "amount": 1001, "reason": "x"}}), http.StatusUnprocessableEntity, "reversal_exceeds_transfer")

	// A teller requests (idempotently); nothing moves yet.
	key := newKey()
	r = e.do(t, req{Method: "POST", Path: path, Token: teller, Key: key, Body: body})
	want(t, r, http.StatusCreated, "")
	var rv bank.Reversal
	r.decode(t, &rv)
	if rv.Status != bank.ReversalPending || rv.Amount != 400 || rv.From != b.Number || rv.To != a.Number || r.Header.Get("Location") != path+"/"+rv.ID {
		t.Fatalf("requested: %s (Location %s)", r.Body, r.Header.Get("Location"))
	}
	r = e.do(t, req{Method: "POST", Path: path, Token: teller, Key: key, Body: body})
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(r.Body), rv.ID) {
		t.Fatalf("replayed request: %d %s", r.Status, r.Body)
	}
	r = e.do(t, req{Method: "GET", Path: path + "?status=pending", Token: teller})
	want(t, r, http.StatusOK, "")
	var list struct{ Reversals []bank.Reversal }
	r.decode(t, &list)
	if len(list.Reversals) != 1 || list.Reversals[0].ID != rv.ID {
		t.Fatalf("pending list: %s", r.Body)
	}
	want(t, e.do(t, req{Method: "GET", Path: path + "?status=nope", Token: teller}), http.StatusBadRequest, "invalid_status")
	want(t, e.do(t, req{Method: "GET", Path: path + "/" + rv.ID, Token: teller}), http.StatusOK, "")
	want(t, e.do(t, req{Method: "GET", Path: path + "/rv_nope", Token: teller}), http.StatusNotFound, "reversal_not_found")

	// Only a second admin decides.
	approve := path + "/" + rv.ID + "/approve"
	want(t, e.do(t, req{Method: "POST", Path: approve, Token: alice, Key: newKey()}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "POST", Path: approve, Token: teller, Key: newKey()}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "POST", Path: approve, Token: admin2}), http.StatusBadRequest, "idempotency_key_required")

	// An admin's own request: they may not approve or reject it; another admin may.
	r = e.do(t, req{Method: "POST", Path: path, Token: admin1, Key: newKey(), Body: map[string]any{"transfer_id": tr.ID, "amount": 100, "reason": "duplicate"}})
	want(t, r, http.StatusCreated, "")
	var own bank.Reversal
	r.decode(t, &own)
	want(t, e.do(t, req{Method: "POST", Path: path + "/" + own.ID + "/approve", Token: admin1, Key: newKey()}), http.StatusForbidden, "four_eyes")
	want(t, e.do(t, req{Method: "POST", Path: path + "/" + own.ID + "/reject", Token: admin1, Body: map[string]any{"reason": "mine"}}), http.StatusForbidden, "four_eyes")
	want(t, e.do(t, req{Method: "POST", Path: path + "/" + own.ID + "/reject", Token: teller, Body: map[string]any{"reason": "no"}}), http.StatusForbidden, "forbidden")
	want(t, e.do(t, req{Method: "POST", Path: path + "/" + own.ID + "/reject", Token: admin2, Body: map[string]any{}}), http.StatusBadRequest, "invalid_reason")
	r = e.do(t, req{Method: "POST", Path: path + "/" + own.ID + "/reject", Token: admin2, Body: map[string]any{"reason": "not a duplicate"}})
	want(t, r, http.StatusOK, "")
	r.decode(t, &own)
	if own.Status != bank.ReversalRejected || own.RejectReason != "not a duplicate" {
		t.Fatalf("rejected: %+v", own)
	}
	want(t, e.do(t, req{Method: "POST", Path: path + "/" + own.ID + "/approve", Token: admin2, Key: newKey()}), http.StatusUnprocessableEntity, "reversal_not_pending")

	// admin1 approves the teller's request; the same key again is a replay.
	key = newKey()
	r = e.do(t, req{Method: "POST", Path: approve, Token: admin1, Key: key})
	want(t, r, http.StatusOK, "")
	r.decode(t, &rv)
	if rv.Status != bank.ReversalApproved || rv.PostingID == "" {
		t.Fatalf("approved: %s", r.Body)
	}
	r = e.do(t, req{Method: "POST", Path: approve, Token: admin1, Key: key})
	if r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed approval: %d %s", r.Status, r.Body)
	}
	if e.account(t, a.Number).Balance != 9400 || e.account(t, b.Number).Balance != 600 {
		t.Fatal("balances after the reversal are wrong")
	}

	// Both customers see the reversal posting, and the original's link.
	for _, c := range []struct{ token, number string }{{alice, a.Number}, {bob, b.Number}} {
		r = e.do(t, req{Method: "GET", Path: "/v1/accounts/" + c.number + "/entries?limit=1", Token: c.token})
		want(t, r, http.StatusOK, "")
		var page struct{ Entries []bank.Entry }
		r.decode(t, &page)
		if len(page.Entries) != 1 || page.Entries[0].Kind != bank.PostingReversal || page.Entries[0].TransferID != rv.PostingID {
			t.Fatalf("history of %s: %s", c.number, r.Body)
		}
		r = e.do(t, req{Method: "GET", Path: "/v1/transfers/" + rv.PostingID, Token: c.token})
		want(t, r, http.StatusOK, "")
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/transfers/" + tr.ID, Token: alice})
	want(t, r, http.StatusOK, "")
	r.decode(t, &tr)
	if tr.Reversed != 400 || len(tr.Reversals) != 1 || tr.Reversals[0] != rv.ID {
		t.Fatalf("original after the reversal: %+v", tr)
	}

	// The outbox relay queues bob's webhook delivery of transfer.reversed.
	if n, err := relay.RelayOutbox(ctx); err != nil || n == 0 {
		t.Fatal(n, err)
	}
	c := pool.Get()
	defer c.Close()
	queued, err := redis.Strings(c.Do("LRANGE", jobs.Namespace+":jobs:"+jobs.WebhookDelivery, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || !strings.Contains(queued[0], "transfer.reversed") || !strings.Contains(queued[0], rv.PostingID) {
		t.Fatalf("webhook deliveries queued: %q", queued)
	}
	e.balanced(t)
}
