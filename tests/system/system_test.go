// Package system tests the whole bank as processes: the real `bank`
// binary, a real redis-server, and faults done for real (SIGKILL of the API
// and of Redis in the middle of load). The promise checked: no acknowledged
// transfer is lost, none is applied twice, and the ledger still balances.
package system

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/loadgen"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/tests/internal/bankbin"
)

var bankBin string

func TestMain(m *testing.M) { os.Exit(bankbin.Run(m, &bankBin)) }

// proc is a `bank` subprocess that can be killed and started again.
type proc struct {
	t    *testing.T
	args []string
	env  []string
	cmd  *exec.Cmd
	log  *os.File
}

func startBank(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	lf, err := os.Create(filepath.Join(t.TempDir(), args[0]+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, args: args, env: env, log: lf}
	p.start()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(lf.Name())
			t.Logf("%s log:\n%s", args[0], tail(b, 4000))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (p *proc) start() {
	p.cmd = exec.Command(bankBin, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not become ready in 30s", url)
}

// run runs one bank command to completion.
func run(env []string, args ...string) error {
	_, err := runOut(env, args...)
	return err
}

// runOut is run that also returns what the command printed.
func runOut(env []string, args ...string) (string, error) {
	cmd := exec.Command(bankBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("bank %v: %v\n%s", args, err, out)
	}
	return string(out), nil
}

// TestFaultsLoseNothing runs transfers through the API while first the API
// process and then Redis are killed with SIGKILL and restarted.
func TestFaultsLoseNothing(t *testing.T) {
	ctx := context.Background()
	// appendfsync always: the production setting, under which Redis
	// acknowledges a write only after it reached the disk.
	rds := redistest.Start(t, "--appendfsync", "always")
	port, _ := redisproc.FreePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{"BANK_REDIS_URL=" + rds.URL, fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=warn"}
	if err := run(env, "admin", "create-user", "--username", "faultteller", "--password", "fault-teller-pw", "--role", "teller"); err != nil {
		t.Fatal(err)
	}
	api := startBank(t, env, "api")
	waitHTTP(t, base+"/readyz")

	hc := &http.Client{Timeout: 5 * time.Second}
	cfg := loadgen.Config{APIURL: base, TellerUser: "faultteller", TellerPassword: "fault-teller-pw",
		Customers: 10, Concurrency: 8, Duration: 1500 * time.Millisecond, Funding: 1_000_000, Currency: "EUR", Client: hc}
	cs, err := loadgen.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	total := loadgen.Result{Acked: map[string]string{}, Outcomes: map[string]int{}}
	phase := func(name string, fault func()) {
		done := make(chan loadgen.Result)
		go func() { done <- loadgen.Drive(ctx, cfg, cs) }()
		time.Sleep(500 * time.Millisecond)
		fault()
		r := <-done
		t.Logf("%s: %s", name, r)
		merge(&total, r)
	}
	phase("api SIGKILL", func() {
		api.kill()
		time.Sleep(200 * time.Millisecond)
		api.start()
		waitHTTP(t, base+"/readyz")
	})
	phase("redis SIGKILL", func() {
		rds.Kill()
		time.Sleep(200 * time.Millisecond)
		if err := rds.Restart(); err != nil {
			t.Fatal(err)
		}
		waitHTTP(t, base+"/readyz")
	})
	if len(total.Acked) < 50 {
		t.Fatalf("only %d transfers acknowledged: the test proves nothing (%v)", len(total.Acked), total.Outcomes)
	}

	retryUnanswered(t, ctx, cs, &total, 20*time.Second)
	checkLedger(t, ctx, ledger.New(rds.Pool(t)), cs, total, cfg.Funding)
	t.Logf("checked %d acknowledged transfers, %d retried after lost answers; outcomes %v", len(total.Acked), len(total.Unanswered), total.Outcomes)
}

// Bootstrapping staff is repeatable with --exists-ok, but a name already
// taken by someone else's role is an error, not a silent success.
func TestAdminCreateUserBootstrap(t *testing.T) {
	env := []string{"BANK_REDIS_URL=" + redistest.Start(t).URL}
	create := func(role string, existsOK bool) error {
		args := []string{"admin", "create-user", "--username", "tina", "--password", "tina-password-1", "--role", role}
		if existsOK {
			args = append(args, "--exists-ok")
		}
		return run(env, args...)
	}
	if err := create("teller", false); err != nil {
		t.Fatal(err)
	}
	if err := create("teller", false); err == nil {
		t.Fatal("creating an existing user without --exists-ok succeeded")
	}
	if err := create("teller", true); err != nil {
		t.Fatalf("repeat with --exists-ok: %v", err)
	}
	if err := create("admin", true); err == nil {
		t.Fatal("--exists-ok reported success for a user with another role")
	}
}

// retryUnanswered retries every request whose answer was lost or 5xx with
// its Idempotency-Key until it gets a definite answer (within budget),
// eight at a time: the API must either replay the original or apply it
// now, exactly once. The ones applied join total.Acked.
func retryUnanswered(t *testing.T, ctx context.Context, cs loadgen.Customers, total *loadgen.Result, budget time.Duration) {
	t.Helper()
	var mu sync.Mutex
	keys := make([]string, len(total.Unanswered))
	for i, a := range total.Unanswered {
		keys[i] = a.Key
	}
	retryDefinite(t, keys, budget, func(i int) error {
		a := total.Unanswered[i]
		tr, err := cs.API.Transfer(ctx, cs.Tokens[a.Customer], a.Key, a.Request)
		if err == nil {
			mu.Lock()
			total.Acked[tr.ID] = a.Key
			mu.Unlock()
		}
		return err
	})
}

// retryDefinite calls try(i) for each of the Idempotency-Keys, eight at a time, each until
// its answer is definite (applied, or refused below 500) or budget is
// spent; it fails the test for the ones that never got one.
func retryDefinite(t *testing.T, keys []string, budget time.Duration, try func(i int) error) {
	t.Helper()
	definite := func(err error) bool {
		p, ok := apiclient.AsProblem(err)
		return err == nil || ok && p.Status < 500
	}
	deadline := time.Now().Add(budget)
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	todo := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range todo {
				var err error
				for {
					if err = try(i); definite(err) || time.Now().After(deadline) {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if !definite(err) {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("retry %s: %v", keys[i], err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range keys {
		todo <- i
	}
	close(todo)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d retries found no definite answer within %s, e.g. %s", len(failed), budget, failed[0])
	}
}

// checkLedger asserts the promise after faults: the ledger balances,
// every acknowledged transfer is in the journals exactly once per side,
// no transfer is in a journal that nobody acknowledged (funding deposits
// aside), and the customers' money neither grew nor shrank.
func checkLedger(t *testing.T, ctx context.Context, l *ledger.Ledger, cs loadgen.Customers, total loadgen.Result, funding int64) {
	t.Helper()
	rep, err := l.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Balanced() {
		t.Fatalf("ledger does not balance after faults: %+v", rep)
	}
	seen, sum := journalled(t, ctx, l, cs.Accounts)
	for id := range total.Acked {
		if seen[id] != 2 {
			t.Errorf("acknowledged transfer %s has %d journal entries, want 2", id, seen[id])
		}
	}
	for id := range seen {
		if _, ok := total.Acked[id]; !ok {
			t.Errorf("transfer %s is in the journal but was never acknowledged", id)
		}
	}
	if want := int64(len(cs.Accounts)) * funding; sum != want {
		t.Errorf("customer balances sum to %d, want %d (money created or lost)", sum, want)
	}
}

// journalled counts the journal entries of each transfer over accounts
// (two per transfer between them) and sums their balances.
func journalled(t *testing.T, ctx context.Context, l *ledger.Ledger, accounts []string) (entries map[string]int, sum int64) {
	t.Helper()
	entries = map[string]int{}
	for _, n := range accounts {
		es, err := l.EntriesBetween(ctx, n, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Kind == "transfer" {
				entries[e.TransferID]++
			}
		}
		a, err := l.Account(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		sum += a.Balance
	}
	return entries, sum
}

// merge adds what r acknowledged, answered and left unanswered to total.
func merge(total *loadgen.Result, r loadgen.Result) {
	for k, v := range r.Acked {
		total.Acked[k] = v
	}
	for k, v := range r.Outcomes {
		total.Outcomes[k] += v
	}
	total.Unanswered = append(total.Unanswered, r.Unanswered...)
}
