package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
)

func TestArgsForSlot(t *testing.T) {
	slot := time.Date(2026, 3, 1, 0, 5, 0, 0, time.UTC)
	if d := jobs.ArgsForSlot(jobs.InterestAccrual, slot)["date"]; d != "2026-02-28" {
		t.Fatalf("interest at %v accrues %v, want the day that ended", slot, d)
	}
	if m := jobs.ArgsForSlot(jobs.MonthlyStatements, slot)["month"]; m != "2026-02" {
		t.Fatalf("statements on %v cover %v, want the previous month", slot, m)
	}
	if _, err := jobs.ParseSchedule("interest-accrual=61 * * * *"); err == nil {
		t.Fatal("a bad spec was accepted")
	}
	if _, err := jobs.ParseSchedule("nope=* * * * *"); err == nil {
		t.Fatal("an unknown job was accepted")
	}
}

// Fake clock: a slot is enqueued when due, once across three schedulers.
func TestSchedulerClaimsEachSlotOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{})
	entries, err := jobs.ParseSchedule("")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 2, 0, 4, 30, 0, time.UTC)
	var scheds []*jobs.Scheduler
	var fired sync.Map
	for i := 0; i < 3; i++ {
		s := jobs.NewScheduler(e.srv.Pool(t), "", entries, time.UTC, quiet)
		s.Now = func() time.Time { return clock }
		s.CatchUp = time.Minute
		s.Fired = func(job string, slot time.Time) {
			k := job + slot.String()
			v, _ := fired.LoadOrStore(k, new(atomic.Int32))
			v.(*atomic.Int32).Add(1)
		}
		scheds = append(scheds, s)
	}
	tick := func() {
		var wg sync.WaitGroup
		for _, s := range scheds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Tick(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	queued := func(job string) int {
		c := e.pool.Get()
		defer c.Close()
		n, _ := redis.Int(c.Do("LLEN", jobs.Namespace+":jobs:"+job))
		return n
	}
	tick() // 00:04:30: the 00:04 minute jobs, no interest yet
	if q := queued(jobs.InterestAccrual); q != 0 {
		t.Fatalf("interest enqueued %d times before 00:05", q)
	}
	if q := queued(jobs.StandingOrders); q != 1 {
		t.Fatalf("standing orders enqueued %d times for 00:04, want 1", q)
	}
	clock = clock.Add(30 * time.Second) // 00:05:00
	tick()
	tick()
	if q := queued(jobs.InterestAccrual); q != 1 {
		t.Fatalf("interest enqueued %d times for one slot by three schedulers, want 1", q)
	}
	fired.Range(func(k, v any) bool {
		if n := v.(*atomic.Int32).Load(); n != 1 {
			t.Errorf("slot %v fired %d times", k, n)
		}
		return true
	})
}

// Real clock, seconds-granularity schedule: three schedulers fire the
// interest job every second for a few seconds, every firing for the same
// business day; each account gets exactly one posting for that day.
func TestThreeSchedulersOnePostingPerAccountPerDay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{BatchSize: 4})
	today := time.Now().UTC()
	yesterday := time.Date(today.Year(), today.Month(), today.Day()-1, 12, 0, 0, 0, time.UTC)
	e.now = yesterday
	var accts []bank.Account
	for i := 0; i < 12; i++ {
		a := e.open(t, fmt.Sprint("u", i), bank.Savings, 730)
		e.deposit(t, a.Number, 500_000)
		accts = append(accts, a)
	}
	e.now = today
	entries, err := jobs.ParseSchedule("interest-accrual=* * * * * *;standing-orders=off;hold-expiry=off;reconciliation=off;dormancy-sweep=off;monthly-statements=off")
	if err != nil {
		t.Fatal(err)
	}
	w := jobs.NewWorker(e.r, jobs.WorkerOptions{Concurrency: 3})
	w.Start()
	defer w.Stop(time.Second)
	var total atomic.Int32
	sctx, cancel := context.WithTimeout(ctx, 3500*time.Millisecond)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		s := jobs.NewScheduler(e.srv.Pool(t), "", entries, time.UTC, quiet)
		s.CatchUp = 0
		s.ClaimTTL = time.Second // expire claims fast: slots get re-fired, as gocraft's enqueuer does
		s.Fired = func(string, time.Time) { total.Add(1) }
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(sctx, 100*time.Millisecond) }()
	}
	wg.Wait()
	cancel()
	waitIdle(t, e.pool, 20*time.Second)
	if total.Load() < 3 {
		t.Fatalf("only %d firings: the schedule did not run", total.Load())
	}
	for _, a := range accts {
		got := e.interestEntries(t, a.Number)
		if len(got) != 1 || got[0].Amount != 500_000*730/3_650_000 {
			t.Fatalf("%s: %d interest postings %+v after %d firings, want exactly 1 of 100", a.Number, len(got), got, total.Load())
		}
	}
	e.balanced(t)
}
