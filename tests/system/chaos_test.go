package system

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// chaosEnv selects the long form: `make chaos` sets it to the run's
// duration. Without it TestChaos is skipped; the short form is
// TestSentinelFailoverLosesNothing, which `make test` runs.
const chaosEnv = "BANK_CHAOS_DURATION"

// fault is one injected failure and when it began.
type fault struct {
	name     string
	at       time.Time
	failover bool // the primary was lost: Sentinel must promote a replica
}

// TestChaos is the long form of the failover test (`make chaos`): three
// redis-servers and three redis-sentinel processes on loopback, two `bank
// api` processes with --redis-min-replicas-ack 1, a worker and a
// scheduler; transfers and holds through both APIs for BANK_CHAOS_DURATION
// while the faults repeat in sequence: SIGKILL of the primary, SIGSTOP of
// the primary beyond Sentinel's down-after, SIGKILL of a replica, SIGKILL
// of a Sentinel (each killed one restarted). Afterwards the books are
// checked like the short form's and the summary printed.
func TestChaos(t *testing.T) {
	v := os.Getenv(chaosEnv)
	if v == "" {
		t.Skipf("the long form runs under `make chaos` (%s set); make test runs the short form", chaosEnv)
	}
	duration, err := time.ParseDuration(v)
	if err != nil || duration < 20*time.Second {
		t.Fatalf("%s=%q: want a duration of at least 20s, e.g. 150s", chaosEnv, v)
	}
	ctx := context.Background()
	data := []string{"--appendfsync", "always", "--min-replicas-to-write", "1", "--min-replicas-max-lag", "5", "--repl-diskless-sync-delay", "0"}
	primary := redistest.Start(t, data...)
	nodes := []*redistest.Server{primary, primary.Replica(t, data...), primary.Replica(t, data...)}
	sentinels := redistest.StartSentinels(t, primary, "bank", 3)

	common := []string{"BANK_REDIS_SENTINELS=" + redistest.SentinelAddrs(sentinels), "BANK_REDIS_MASTER_NAME=bank", "BANK_LOG_LEVEL=error"}
	if err := run(common, "admin", "create-user", "--username", "chaosteller", "--password", "chaos-teller-pw", "--role", "teller"); err != nil {
		t.Fatal(err)
	}
	api := func(ack int) string {
		port, _ := redisproc.FreePort()
		env := append(slices.Clone(common), fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), fmt.Sprint("BANK_REDIS_MIN_REPLICAS_ACK=", ack))
		startBank(t, env, "api")
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitHTTP(t, base+"/readyz")
		return base
	}
	apis := []string{api(1), api(1)}
	noWait := api(0) // only for the rate without WAIT, before the faults
	for _, job := range []string{"worker", "scheduler"} {
		port, _ := redisproc.FreePort()
		startBank(t, common, job, "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port))
	}

	mix, _ := loadgen.ParseMix("transfer=70,hold=30")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	cfg := loadgen.Config{APIURLs: apis, TellerUser: "chaosteller", TellerPassword: "chaos-teller-pw",
		Customers: 20, Concurrency: 8, Duration: duration + time.Minute, Funding: 1_000_000, Currency: "EUR", Mix: mix, Client: hc}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// Transfers/s with and without WAIT, same topology, same run: 5s
	// of transfers only through one WAIT api, then 5s through the one
	// without (one api process each: on 2 cores a second one would
	// change the rate more than WAIT does). Printed, never asserted.
	total := loadgen.Result{Acked: map[string]string{}, Outcomes: map[string]int{}}
	rate := func(urls ...string) float64 {
		c := cfg
		c.Duration, c.APIURLs, c.Mix = 5*time.Second, urls, nil
		r := loadgen.Drive(ctx, c, cs)
		merge(&total, r)
		return r.Rate()
	}
	withWait, withoutWait := rate(apis[0]), rate(noWait)

	// The load, while the faults repeat until duration is over.
	stop := make(chan struct{})
	c := cfg
	c.Stop = stop
	done := make(chan loadgen.Result)
	go func() { done <- loadgen.Drive(ctx, c, cs) }()

	const gap = 6 * time.Second // load between faults, time to settle
	var faults []fault
	begin := func(name string, failover bool) { faults = append(faults, fault{name, time.Now(), failover}) }
	start := time.Now()
	time.Sleep(3 * time.Second)
	for i := 0; time.Since(start) < duration-gap; i++ {
		m := settled(t, nodes)
		switch i % 4 {
		case 0:
			begin("SIGKILL primary", true)
			m.Kill()
			time.Sleep(2 * time.Second)
			if err := m.Restart(); err != nil { // from its AOF; Sentinel makes it a replica
				t.Fatal(err)
			}
		case 1:
			begin(fmt.Sprintf("SIGSTOP primary %s", 3*redistest.SentinelTiming.DownAfter), true)
			if err := m.Pause(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * redistest.SentinelTiming.DownAfter)
			if err := m.Resume(); err != nil { // it returns as a replica
				t.Fatal(err)
			}
		case 2:
			r := nodes[slices.IndexFunc(nodes, func(n *redistest.Server) bool { return n != m })]
			begin("SIGKILL replica", false)
			r.Kill()
			time.Sleep(2 * time.Second)
			if err := r.Restart(); err != nil {
				t.Fatal(err)
			}
		case 3:
			s := sentinels[(i/4)%len(sentinels)]
			begin("SIGKILL sentinel", false)
			s.Kill()
			time.Sleep(2 * time.Second)
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(gap)
	}
	close(stop)
	res := <-done
	end := time.Now()
	t.Logf("load: %s", res)
	t.Logf("per operation:\n%s", res.Table())

	windows := unavailability(slices.SortedFunc(maps.Values(res.AckedAt), time.Time.Compare), faults, end)
	tried, answered503 := 0, 0
	for _, s := range res.Ops {
		tried += s.OK
		for k, n := range s.Errors {
			tried += n
			if strings.HasPrefix(k, "503") {
				answered503 += n
			}
		}
	}
	if res.Transfers < 100 {
		t.Fatalf("only %d transfers acknowledged under the faults: the test proves nothing (%s)", res.Transfers, res)
	}
	for outcome, n := range res.Outcomes {
		if outcome != "201" && outcome != "503" {
			t.Errorf("%d transfers answered %q, want only 201 and 503 with Retry-After", n, outcome)
		}
	}
	if bound := redispool.DefaultTimeout*3 + 2*time.Second; res.SlowestErr > bound {
		t.Errorf("the slowest failed transfer took %s, more than %s", res.SlowestErr, bound)
	}
	acked := len(res.Acked)
	merge(&total, res)
	retried, before := len(total.Unanswered), len(total.Acked)
	retryUnanswered(t, ctx, cs, &total, 30*time.Second)
	retriedApplied := len(total.Acked) - before
	// Holds whose answer was a 503 or lost: the same key authorises
	// each at most once (the books below still balance with them held).
	holdKeys := make([]string, len(res.UnansweredHolds))
	for i, h := range res.UnansweredHolds {
		holdKeys[i] = h.Key
	}
	var holdsApplied atomic.Int64
	retryDefinite(t, holdKeys, 30*time.Second, func(i int) error {
		h := res.UnansweredHolds[i]
		_, err := cs.API.AuthorizeHold(ctx, cs.Tokens[h.Customer], h.Key, h.Request)
		if err == nil {
			holdsApplied.Add(1)
		}
		return err
	})

	final := stableMaster(t, nodes)
	fl := ledger.New(final.Pool(t))
	lost, doubled := countJournal(t, ctx, fl, cs, total)
	checkLedger(t, ctx, fl, cs, total, cfg.Funding)
	checkOverdraft(t, ctx, fl, cs)

	var b strings.Builder
	fmt.Fprintf(&b, "make chaos summary (%s of faults under load, Sentinel down-after %s):\n", end.Sub(start).Round(time.Second), redistest.SentinelTiming.DownAfter)
	fmt.Fprintf(&b, "  processes: 3 redis-server, 3 redis-sentinel, 2 bank api (WAIT 1 replica), worker, scheduler; %d clients, mix %s\n", cfg.Concurrency, mix)
	fmt.Fprintf(&b, "  requests tried %d, acknowledged %d, answered 503 %d, other failures %d\n", tried, tried-res.Errors(), answered503, res.Errors()-answered503)
	fmt.Fprintf(&b, "  transfers acknowledged %d; retried with the same key %d transfers (%d now answered 201: replayed or applied once) and %d holds (%d now authorised)\n",
		acked, retried, retriedApplied, len(holdKeys), holdsApplied.Load())
	fmt.Fprintf(&b, "  checked on the final primary: %d acknowledged transfers (with the rate phases and the retries)\n", len(total.Acked))
	fmt.Fprintf(&b, "  faults %d:\n", len(faults))
	for i, f := range faults {
		kind := ""
		if f.failover {
			kind = " (failover)"
		}
		fmt.Fprintf(&b, "    %6.1fs %-24s%-11s longest time without an acknowledged transfer: %s\n", f.at.Sub(start).Seconds(), f.name, kind, windows[i].Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "  acknowledged transfers lost %d, doubled %d; ledger balanced, every balance equals its journal, none below its overdraft limit: %v\n", lost, doubled, !t.Failed())
	fmt.Fprintf(&b, "  transfers/s, %d clients, same run before the faults: %.0f with WAIT for 1 replica, %.0f without (one api each)\n", cfg.Concurrency, withWait, withoutWait)
	fmt.Fprintf(&b, "  slowest failed transfer %s\n", res.SlowestErr.Round(time.Millisecond))
	t.Log("\n" + b.String())
}

// settled waits until one node is the master (for a second) and every
// other one is an online replica that min-replicas-to-write counts, and
// returns the master: the next fault then starts from the full topology.
func settled(t *testing.T, nodes []*redistest.Server) *redistest.Server {
	t.Helper()
	m := stableMaster(t, nodes)
	for _, n := range nodes {
		if n != m {
			if err := redistest.WaitReplicaOnline(m.Addr, n.Addr, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	return m
}

// unavailability is, for each fault, the longest time without an
// acknowledged transfer between the fault and the next one (or end),
// counted from the last acknowledgement before the fault: requests in
// flight may still be acknowledged just after it, so "the first ack after
// the fault" alone would say nothing.
func unavailability(acks []time.Time, faults []fault, end time.Time) []time.Duration {
	out := make([]time.Duration, len(faults))
	for i, f := range faults {
		until := end
		if i+1 < len(faults) {
			until = faults[i+1].at
		}
		prev := f.at
		if j, _ := slices.BinarySearchFunc(acks, f.at, time.Time.Compare); j > 0 {
			prev = acks[j-1]
		}
		for _, a := range acks {
			if a.After(f.at) && !a.After(until) {
				out[i] = max(out[i], a.Sub(prev))
				prev = a
			}
		}
		out[i] = max(out[i], until.Sub(prev)) // never acknowledged again before the next fault
	}
	return out
}

// countJournal counts the acknowledged transfers missing from the journal
// (lost) and those journalled more than once per side (doubled);
// checkLedger fails the test for either.
func countJournal(t *testing.T, ctx context.Context, l *ledger.Ledger, cs loadgen.Customers, total loadgen.Result) (lost, doubled int) {
	t.Helper()
	seen, _ := journalled(t, ctx, l, cs.Accounts)
	for id := range total.Acked {
		switch {
		case seen[id] < 2:
			lost++
		case seen[id] > 2:
			doubled++
		}
	}
	return lost, doubled
}

// stableMaster is the single master among nodes once it stayed the same
// for a second: a Sentinel's failover that timed out can promote one
// replica and then another (the first one becomes a replica again).
func stableMaster(t *testing.T, nodes []*redistest.Server) *redistest.Server {
	t.Helper()
	m := currentMaster(t, nodes)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
		time.Sleep(time.Second)
		next := currentMaster(t, nodes)
		if next == m {
			return m
		}
		m = next
	}
	t.Fatal("the master kept changing for 30s")
	return nil
}

// checkOverdraft asserts no account is below its overdraft limit.
func checkOverdraft(t *testing.T, ctx context.Context, l *ledger.Ledger, cs loadgen.Customers) {
	t.Helper()
	for _, n := range cs.Accounts {
		a, err := l.Account(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if a.Balance < -a.OverdraftLimit {
			t.Errorf("account %s has balance %d, below its overdraft limit %d", n, a.Balance, a.OverdraftLimit)
		}
	}
}

// TestAckedWriteSurvivesPrimaryKill: a transfer acknowledged by an api
// with --redis-min-replicas-ack 1 is on a replica the moment the 2xx
// arrives, so SIGKILL of the primary right after it (never restarted)
// loses nothing: the promoted replica has the transfer and its
// Idempotency-Key, and a retry with that key replays the same transfer.
func TestAckedWriteSurvivesPrimaryKill(t *testing.T) {
	ctx := context.Background()
	primary, replicas, _, base := startSentinelBank(t, "ackteller", "ack-teller-pw")
	cfg := loadgen.Config{APIURL: base, TellerUser: "ackteller", TellerPassword: "ack-teller-pw",
		Customers: 2, Funding: 10_000, Currency: "EUR", Client: &http.Client{Timeout: 10 * time.Second}}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := apiclient.TransferRequest{From: cs.Accounts[0], To: cs.Accounts[1], Amount: 1234, Currency: "EUR", Description: "acked then primary killed"}
	tr, err := cs.API.Transfer(ctx, cs.Tokens[0], "acked-then-kill", req)
	if err != nil {
		t.Fatal(err)
	}
	primary.Kill() // right after the 2xx, before anything else happens

	m := stableMaster(t, replicas)
	if _, err := ledger.New(m.Pool(t)).Transfer(ctx, tr.ID); err != nil {
		t.Fatalf("the acknowledged transfer %s is not on the promoted replica %s: %v", tr.ID, m.Addr, err)
	}
	// The api follows the new primary; the key is there, so the retry
	// replays the original instead of moving the money again.
	var again = tr
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if again, err = cs.API.Transfer(ctx, cs.Tokens[0], "acked-then-kill", req); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		t.Fatalf("retry with the same key after the failover: %v", err)
	}
	if again.ID != tr.ID {
		t.Fatalf("retry with the same key made transfer %s, want the replay of %s", again.ID, tr.ID)
	}
	m = stableMaster(t, replicas)
	a, err := ledger.New(m.Pool(t)).Account(ctx, cs.Accounts[0])
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != 10_000-1234 {
		t.Fatalf("payer balance %d after the failover, want %d (the transfer exactly once)", a.Balance, 10_000-1234)
	}
	rep, err := ledger.New(m.Pool(t)).Reconcile(ctx)
	if err != nil || !rep.Balanced() {
		t.Fatalf("ledger on the promoted replica: %+v, %v", rep, err)
	}
}
