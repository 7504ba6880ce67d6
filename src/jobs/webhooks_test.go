package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/webhooks"
	"github.com/kubebank/kubebank/src/worker"
)

type receiver struct {
	mu       sync.Mutex
	failures int // answer 500 this many times first
	calls    int
	bodies   [][]byte
	sigs     []string
	ids      []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if rc.calls <= rc.failures {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	rc.bodies = append(rc.bodies, b)
	rc.sigs = append(rc.sigs, r.Header.Get(webhooks.HeaderSignature))
	rc.ids = append(rc.ids, r.Header.Get(webhooks.HeaderEventID))
}

func (rc *receiver) snapshot() (calls int, bodies [][]byte, sigs, ids []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls, append([][]byte(nil), rc.bodies...), append([]string(nil), rc.sigs...), append([]string(nil), rc.ids...)
}

func TestWebhooksSignedRetriedDead(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{}) // webhooks to local receivers
	alice := e.open(t, "alice", bank.Checking, 0)
	bob := e.open(t, "bob", bank.Checking, 0)
	e.deposit(t, alice.Number, 10_000)
	if _, err := e.r.RelayOutbox(ctx); err != nil { // the set-up deposit, before any webhook
		t.Fatal(err)
	}

	good := &receiver{}
	flaky := &receiver{failures: 3}
	broken := &receiver{failures: 1 << 30}
	for _, rc := range []*receiver{good, flaky, broken} {
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)
		rc.sigs = nil
		owner := "alice"
		if rc == flaky {
			owner = "bob"
		}
		if rc == broken {
			owner = "carol"
		}
		h, err := e.hooks.Create(ctx, owner, srv.URL, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		secrets[rc] = h.Secret
	}
	w := worker.New(e.pool, e.r, worker.Options{Concurrency: 2, Webhook: jobs.Retry{Attempts: 5, Backoff: func(int64) int64 { return 0 }}})
	w.Start()
	defer w.Stop(time.Second)

	tr, _, err := e.l.Post(ctx, ledger.Posting{From: alice.Number, To: bob.Number, Amount: 1_234, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	// The posting put transfer.completed in the outbox; the relay announces it.
	if _, err := e.r.RelayOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Publisher.Publish(ctx, webhooks.StatementReady, "x:2026-01", []string{"carol"}, map[string]string{"month": "2026-01"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, fb, _, _ := flaky.snapshot()
		bc, _, _, _ := broken.snapshot()
		if len(fb) == 1 && bc >= 5 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // room for any extra (wrong) delivery

	// The good receiver: one correctly signed event about the transfer.
	calls, bodies, sigs, ids := good.snapshot()
	if calls != 1 || len(bodies) != 1 {
		t.Fatalf("good receiver got %d calls", calls)
	}
	if err := webhooks.Verify(secrets[good], sigs[0], bodies[0], time.Now()); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	var ev struct {
		ID   string        `json:"id"`
		Type string        `json:"type"`
		Data bank.Transfer `json:"data"`
	}
	if err := json.Unmarshal(bodies[0], &ev); err != nil || ev.Type != webhooks.TransferCompleted || ev.Data.ID != tr.ID || ev.Data.Amount != 1_234 || ev.ID != ids[0] {
		t.Fatalf("event %+v %v", ev, err)
	}
	// Tampering fails verification: body, secret, or an old timestamp.
	tampered := append([]byte(nil), bodies[0]...)
	tampered[len(tampered)-2] ^= 1
	if webhooks.Verify(secrets[good], sigs[0], tampered, time.Now()) == nil {
		t.Fatal("tampered body verified")
	}
	if webhooks.Verify("whsec_wrong", sigs[0], bodies[0], time.Now()) == nil {
		t.Fatal("wrong secret verified")
	}
	if webhooks.Verify(secrets[good], sigs[0], bodies[0], time.Now().Add(10*time.Minute)) == nil {
		t.Fatal("stale signature verified")
	}
	if webhooks.Verify(secrets[good], "t=1,v1=00", bodies[0], time.Now()) == nil {
		t.Fatal("garbage header verified")
	}
	// The flaky receiver: 3 failures, then exactly one delivery.
	calls, bodies, sigs, _ = flaky.snapshot()
	if calls != 4 || len(bodies) != 1 {
		t.Fatalf("flaky receiver: %d calls, %d deliveries; want 4 and 1", calls, len(bodies))
	}
	if err := webhooks.Verify(secrets[flaky], sigs[0], bodies[0], time.Now()); err != nil {
		t.Fatal(err)
	}
	// The broken receiver: 5 attempts, then the dead set.
	calls, _, _, _ = broken.snapshot()
	if calls != 5 {
		t.Fatalf("broken receiver: %d attempts, want 5", calls)
	}
	stats, err := jobs.Stats(ctx, e.pool, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Job == jobs.WebhookDelivery && s.Dead != 1 {
			t.Fatalf("webhook dead jobs %d, want 1 (%+v)", s.Dead, s)
		}
	}
}

var secrets = map[*receiver]string{}
