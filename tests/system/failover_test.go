package system

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// startSentinelBank starts the production topology on loopback: a
// primary and two replicas (min-replicas-to-write 1, as in staging and
// prod), three redis-sentinel processes, a teller (user, password), and
// `bank api` on the Sentinels with --redis-min-replicas-ack 1. It returns
// the data nodes, the api's env and its base URL.
func startSentinelBank(t *testing.T, user, password string) (primary *redistest.Server, replicas []*redistest.Server, env []string, base string) {
	t.Helper()
	// No 5s wait before a replica's full sync: nodes rejoin quickly here.
	data := []string{"--appendfsync", "always", "--min-replicas-to-write", "1", "--min-replicas-max-lag", "5", "--repl-diskless-sync-delay", "0"}
	primary = redistest.Start(t, data...)
	replicas = []*redistest.Server{primary.Replica(t, data...), primary.Replica(t, data...)}
	sentinels := redistest.StartSentinels(t, primary, "bank", 3)

	port, _ := redisproc.FreePort()
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	env = []string{"BANK_REDIS_SENTINELS=" + redistest.SentinelAddrs(sentinels), "BANK_REDIS_MASTER_NAME=bank",
		fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=error", "BANK_REDIS_MIN_REPLICAS_ACK=1"}
	if err := run(env, "admin", "create-user", "--username", user, "--password", password, "--role", "teller"); err != nil {
		t.Fatal(err)
	}
	startBank(t, env, "api")
	waitHTTP(t, base+"/readyz")
	return primary, replicas, env, base
}

// TestSentinelFailoverLosesNothing is the production topology on
// loopback: a primary and two replicas (min-replicas-to-write 1, as in
// staging and prod), three redis-sentinel processes, and `bank api` on
// the Sentinels with --redis-min-replicas-ack 1, under transfer load. The
// primary is SIGKILLed, then the promoted one paused. Afterwards every acknowledged transfer is on the
// promoted replica exactly once, the ledger balances, every failure the
// clients saw was a 503 with Retry-After, and the API took writes again
// without a restart.
func TestSentinelFailoverLosesNothing(t *testing.T) {
	ctx := context.Background()
	primary, replicas, env, base := startSentinelBank(t, "failoverteller", "failover-teller-pw")

	hc := &http.Client{Timeout: 10 * time.Second}
	cfg := loadgen.Config{APIURL: base, TellerUser: "failoverteller", TellerPassword: "failover-teller-pw",
		Customers: 10, Concurrency: 8, Duration: time.Minute, Funding: 1_000_000, Currency: "EUR", Client: hc}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Transfers/s through the same topology with and without WAIT: a
	// second api process without it, each driven for 2s. Printed, never
	// asserted (a slow machine is no failure).
	port2, _ := redisproc.FreePort()
	base2 := fmt.Sprintf("http://127.0.0.1:%d", port2)
	env2 := append(slices.Clone(env), fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port2), "BANK_REDIS_MIN_REPLICAS_ACK=0")
	startBank(t, env2, "api")
	waitHTTP(t, base2+"/readyz")
	measured := loadgen.Result{Acked: map[string]string{}, Outcomes: map[string]int{}}
	rate := func(url string) float64 {
		c := cfg
		c.Duration, c.APIURL, c.APIURLs = 2*time.Second, url, nil
		r := loadgen.Drive(ctx, c, cs)
		merge(&measured, r)
		return r.Rate()
	}
	withWait, withoutWait := rate(base), rate(base2)

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

	// Two faults under load: SIGKILL of the primary (a replica is
	// promoted; the killed node restarts from its AOF and the Sentinels
	// make it a replica), then SIGSTOP of the new primary for longer than
	// the Sentinels' down-after (another node is promoted; the paused one
	// comes back as a replica).
	done := make(chan loadgen.Result)
	stop := make(chan struct{})
	cfg.Stop = stop
	go func() { done <- loadgen.Drive(ctx, cfg, cs) }()
	time.Sleep(2 * time.Second)
	killed := time.Now()
	primary.Kill()
	time.Sleep(2 * time.Second)
	if err := primary.Restart(); err != nil {
		t.Fatal(err)
	}
	nodes := append([]*redistest.Server{primary}, replicas...)
	// The restarted node comes back from its AOF as a master; the
	// Sentinels turn it into a replica of the promoted one.
	second := currentMaster(t, nodes)
	time.Sleep(2 * time.Second)
	paused := time.Now()
	if err := second.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * redistest.SentinelTiming.DownAfter)
	if err := second.Resume(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	close(stop)
	res := <-done
	close(stopWatch)
	t.Logf("load: %s", res)

	// The window of each fault: the longest time without an acknowledged
	// write after it (requests in flight may still be acknowledged just
	// after a fault, so "the first ack after the fault" would say nothing).
	acks := slices.SortedFunc(maps.Values(res.AckedAt), time.Time.Compare)
	windows := make([]time.Duration, 2)
	count := make([]int, 3)
	for i, at := range acks {
		phase := 0
		if at.After(killed) {
			phase = 1
		}
		if at.After(paused) {
			phase = 2
		}
		count[phase]++
		if i > 0 && phase > 0 && at.Sub(acks[i-1]) > windows[phase-1] {
			windows[phase-1] = at.Sub(acks[i-1])
		}
	}
	if count[0] < 20 {
		t.Fatalf("only %d transfers acknowledged before the first fault: the test proves nothing", count[0])
	}
	for i, name := range []string{"SIGKILL of the primary", "SIGSTOP of the new primary"} {
		if count[i+1] < 20 {
			t.Fatalf("%d transfers acknowledged after %s (%s): the API did not recover", count[i+1], name, res)
		}
	}
	if res.Outcomes["503"] == 0 {
		t.Fatalf("no 503 at all (%s): the faults were not seen", res)
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
	merge(&res, measured)
	// Retried with the same Idempotency-Key, every unknown outcome
	// resolves exactly once.
	retryUnanswered(t, ctx, cs, &res, 30*time.Second)

	// The books, on whichever node is the master now.
	final := currentMaster(t, nodes)
	fl := ledger.New(final.Pool(t))
	// For a lost one, when it was acknowledged tells which fault lost it
	// (checkLedger below fails the test).
	for id := range res.Acked {
		if _, err := fl.Transfer(ctx, id); err != nil {
			var on []string
			for _, n := range nodes {
				if _, err := ledger.New(n.Pool(t)).Transfer(ctx, id); err == nil {
					on = append(on, n.Addr)
				}
			}
			at, ok := res.AckedAt[id]
			t.Logf("acknowledged transfer %s is not on the master (%v): acknowledged during the load %v, at SIGKILL%+v, SIGSTOP%+v; on the nodes %v", id, err, ok, at.Sub(killed), at.Sub(paused), on)
		}
	}
	checkLedger(t, ctx, fl, cs, res, cfg.Funding)
	t.Logf("write-unavailability windows (the longest time without an acknowledged transfer): %s after SIGKILL of the primary, %s after SIGSTOP of the next one for %s; %d acknowledged, %d answered 503 and retried with the same key, none lost or doubled; slowest failure %s; /readyz failed %d times",
		windows[0].Round(time.Millisecond), windows[1].Round(time.Millisecond), 3*redistest.SentinelTiming.DownAfter,
		len(res.Acked), res.Outcomes["503"], res.SlowestErr.Round(time.Millisecond), notReady.Load())
	t.Logf("transfers/s before the faults, 8 clients: %.0f with WAIT for 1 replica, %.0f without", withWait, withoutWait)
}

// currentMaster is the one of nodes that reports ROLE master, once the
// Sentinels' failover settled (within 30s).
func currentMaster(t *testing.T, nodes []*redistest.Server) *redistest.Server {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var masters []*redistest.Server
		for _, n := range nodes {
			if role, err := n.Role(); err == nil && role == "master" {
				masters = append(masters, n)
			}
		}
		if len(masters) == 1 {
			return masters[0]
		}
	}
	t.Fatal("no single master among the nodes within 30s")
	return nil
}
