package system

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// TestSentinelFailoverLosesNothing is the production topology on
// loopback: a primary and two replicas (min-replicas-to-write 1, as in
// staging and prod), three redis-sentinel processes, and `bank api` on
// the Sentinels with --redis-min-replicas-ack 1, under transfer load. The
// primary is SIGKILLed. Afterwards every acknowledged transfer is on the
// promoted replica exactly once, the ledger balances, every failure the
// clients saw was a 503 with Retry-After, and the API took writes again
// without a restart.
func TestSentinelFailoverLosesNothing(t *testing.T) {
	ctx := context.Background()
	data := []string{"--appendfsync", "always", "--min-replicas-to-write", "1", "--min-replicas-max-lag", "5"}
	primary := redistest.Start(t, data...)
	replicas := []*redistest.Server{primary.Replica(t, data...), primary.Replica(t, data...)}
	sentinels := redistest.StartSentinels(t, primary, "bank", 3)

	port, _ := redisproc.FreePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{"BANK_REDIS_SENTINELS=" + redistest.SentinelAddrs(sentinels), "BANK_REDIS_MASTER_NAME=bank",
		fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=error", "BANK_REDIS_MIN_REPLICAS_ACK=1"}
	if err := run(env, "admin", "create-user", "--username", "failoverteller", "--password", "failover-teller-pw", "--role", "teller"); err != nil {
		t.Fatal(err)
	}
	startBank(t, env, "api")
	waitHTTP(t, base+"/readyz")

	hc := &http.Client{Timeout: 10 * time.Second}
	cfg := loadgen.Config{APIURL: base, TellerUser: "failoverteller", TellerPassword: "failover-teller-pw",
		Customers: 10, Concurrency: 8, Duration: 10 * time.Second, Funding: 1_000_000, Currency: "EUR", Client: hc}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Watch /readyz through the failover.
	var notReady atomic.Int64
	stopWatch := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if resp, err := hc.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					notReady.Add(1)
				}
			}
		}
	}()

	done := make(chan loadgen.Result)
	go func() { done <- loadgen.Drive(ctx, cfg, cs) }()
	time.Sleep(2 * time.Second)
	fault := time.Now()
	primary.Kill()
	res := <-done
	close(stopWatch)
	t.Logf("load: %s", res)

	// The window: the longest time without an acknowledged write, which
	// spans the SIGKILL (requests in flight may still be acknowledged just
	// after it, so "the first ack after the fault" would say nothing).
	sort.Slice(res.AckedAt, func(i, j int) bool { return res.AckedAt[i].Before(res.AckedAt[j]) })
	var window time.Duration
	before, after := 0, 0
	for i, at := range res.AckedAt {
		if at.Before(fault) {
			before++
		} else {
			after++
		}
		if i > 0 && at.Sub(res.AckedAt[i-1]) > window {
			window = at.Sub(res.AckedAt[i-1])
		}
	}
	if before < 20 {
		t.Fatalf("only %d transfers acknowledged before the fault: the test proves nothing", before)
	}
	if after < 20 || res.Outcomes["503"] == 0 {
		t.Fatalf("%d transfers acknowledged after SIGKILL of the primary, %d answered 503 (%s): the fault was not seen or the API did not recover", after, res.Outcomes["503"], res)
	}
	// Every failure is an honest, fast 503.
	for outcome, n := range res.Outcomes {
		if outcome != "201" && outcome != "503" {
			t.Errorf("%d answers %q during the failover, want only 201 and 503 with Retry-After", n, outcome)
		}
	}
	if bound := redispool.DefaultTimeout*3 + 2*time.Second; res.SlowestErr > bound {
		t.Errorf("the slowest failed request took %s, more than %s", res.SlowestErr, bound)
	}
	// Retried with the same Idempotency-Key, every unknown outcome
	// resolves exactly once.
	retryUnanswered(t, ctx, cs, &res, 30*time.Second)

	// The promoted replica is the master now; check the books there.
	var promoted *redistest.Server
	for _, r := range replicas {
		if role, err := r.Role(); err == nil && role == "master" {
			promoted = r
		}
	}
	if promoted == nil {
		t.Fatal("no replica was promoted")
	}
	checkLedger(t, ctx, ledger.New(promoted.Pool(t)), cs, res, cfg.Funding)
	t.Logf("failover: write-unavailability window %s (the longest time without an acknowledged transfer); %d acknowledged, %d answered 503 and retried with the same key, slowest failure %s; /readyz failed %d times",
		window.Round(time.Millisecond), len(res.Acked), res.Outcomes["503"], res.SlowestErr.Round(time.Millisecond), notReady.Load())
}
