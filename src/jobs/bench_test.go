package jobs_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocraft/work"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/worker"
)

// BenchmarkNoopJobs measures gocraft/work's own throughput on a local
// redis-server: enqueue b.N no-op jobs, then time a pool draining them.
func BenchmarkNoopJobs(b *testing.B) {
	e := newEnv(b, jobs.Options{})
	enq := work.NewEnqueuer(jobs.Namespace, e.pool)
	for i := 0; i < b.N; i++ {
		if _, err := enq.Enqueue("noop", nil); err != nil {
			b.Fatal(err)
		}
	}
	var done atomic.Int64
	finished := make(chan struct{})
	wp := work.NewWorkerPool(struct{}{}, 8, jobs.Namespace, e.pool)
	wp.Job("noop", func(*work.Job) error {
		if done.Add(1) == int64(b.N) {
			close(finished)
		}
		return nil
	})
	b.ResetTimer()
	start := time.Now()
	wp.Start()
	<-finished
	el := time.Since(start)
	b.StopTimer()
	wp.Stop()
	b.ReportMetric(float64(b.N)/el.Seconds(), "jobs/s")
}

// BenchmarkInterestAccrual accrues one day over BANK_BENCH_ACCOUNTS
// savings accounts (default 10,000; the closing note uses 100,000) through
// the real fan-out: the daily job enqueues batches, a 4-worker pool posts.
func BenchmarkInterestAccrual(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("BANK_BENCH_ACCOUNTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	e := newEnv(b, jobs.Options{})
	var wg sync.WaitGroup
	var next atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				a, err := e.l.Open(ctx, ledger.OpenRequest{Owner: "u", Type: bank.Savings, Currency: "EUR", InterestRate: 250})
				if err != nil {
					b.Error(err)
					return
				}
				if _, _, err := e.l.Deposit(ctx, a.Number, 1_000_000, "EUR", "", "t", ledger.Idem{}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	w := worker.New(e.pool, e.r, worker.Options{Concurrency: 4})
	w.Start()
	defer w.Stop(time.Second)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		e.now = d.Add(24*time.Hour + 5*time.Minute)
		start := time.Now()
		if _, err := e.r.Enqueue(jobs.InterestAccrual, map[string]any{"date": d.Format("2006-01-02")}); err != nil {
			b.Fatal(err)
		}
		waitIdle(b, e.pool, 10*time.Minute)
		total += time.Since(start)
	}
	b.StopTimer()
	got := e.interestEntries(b, func() string { nums, _ := e.l.AccountNumbers(ctx); return nums[0] }())
	if len(got) != b.N {
		b.Fatalf("last account has %d interest postings after %d days", len(got), b.N)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "accounts/s")
	fmt.Fprintf(os.Stderr, "interest accrual: %d accounts × %d day(s) in %v\n", n, b.N, total)
}
