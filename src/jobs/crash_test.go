package jobs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/worker"
)

const childEnv = "BANK_TEST_WORKER_REDIS"

// TestMain turns the test binary into the worker process of
// TestWorkerKilledMidBatch when it is re-executed with childEnv set.
func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		crashChildWorker(url)
		return
	}
	// The scheduler runs gocraft's enqueuer, which computes slots in
	// time.Local: the tests' bank zone is UTC (set before any goroutine).
	time.Local = time.UTC
	os.Exit(m.Run())
}

func crashChildWorker(url string) {
	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.DialURL(url) }, MaxIdle: 8}
	l := ledger.New(pool)
	l.Now = func() time.Time { return time.Date(2026, 1, 2, 0, 5, 0, 0, time.UTC) }
	// Slow on purpose: small chunks with pauses, so the kill lands mid-batch.
	r := newRunner(pool, l, jobs.Options{BatchSize: 5000, AccrualChunk: 5, Pace: 10 * time.Millisecond, Log: quiet})
	w := worker.New(pool, r, worker.Options{Concurrency: 1})
	w.Start()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// A worker process is SIGKILLed while it posts a batch of interest; a new
// worker picks the batch up (gocraft/work's dead-pool reaper requeues it)
// and every account is credited exactly once.
func TestWorkerKilledMidBatch(t *testing.T) {
	e := newEnv(t, jobs.Options{Log: quiet})
	const n = 400
	var accts []bank.Account
	for i := 0; i < n; i++ {
		a := e.open(t, fmt.Sprint("u", i), bank.Savings, 500)
		e.deposit(t, a.Number, int64(2_000_000+i*13))
		accts = append(accts, a)
	}
	e.now = time.Date(2026, 1, 2, 0, 5, 0, 0, time.UTC)
	if _, err := e.r.Enqueue(jobs.InterestAccrual, map[string]any{"date": "2026-01-01"}); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), childEnv+"="+e.srv.URL)
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	credited := func() int {
		c := e.pool.Get()
		defer c.Close()
		k := 0
		for _, a := range accts {
			// Accrued: after its deposit, the account's journal has its interest entry.
			if n, _ := redis.Int(c.Do("XLEN", keyspace.Journal+a.Number)); n > 1 {
				k++
			}
		}
		return k
	}
	deadline := time.Now().Add(30 * time.Second)
	for credited() < n/10 {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the child worker never started posting")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	mid := credited()
	if mid >= n {
		t.Fatalf("the batch finished (%d/%d) before the kill: the test did not crash mid-batch", mid, n)
	}
	t.Logf("killed with %d/%d accounts credited", mid, n)

	w := worker.New(e.pool, e.r, worker.Options{Concurrency: 2})
	w.Start()
	defer w.Stop(time.Second)
	deadline = time.Now().Add(40 * time.Second)
	for credited() < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	waitIdle(t, e.pool, 20*time.Second)
	for i, a := range accts {
		got := e.interestEntries(t, a.Number)
		bal := int64(2_000_000 + i*13)
		want := bal * 500 / ledger.InterestDivisor
		if len(got) != 1 || got[0].Amount != want {
			t.Fatalf("%s: interest entries %+v, want exactly one of %d", a.Number, got, want)
		}
	}
	e.balanced(t)
}
