package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
)

func TestScheduleParsing(t *testing.T) {
	entries, err := jobs.ParseSchedule("interest-accrual=5 0 * * *;hold-expiry=off;reconciliation=*/2 * * * * *")
	if err != nil {
		t.Fatal(err)
	}
	specs := map[string]string{}
	for _, e := range entries {
		specs[e.Job] = e.Spec
	}
	// A five-field spec gets second 0; gocraft would read it as seconds.
	if specs[jobs.InterestAccrual] != "0 5 0 * * *" {
		t.Fatalf("interest spec %q, want the 5-field spec with second 0", specs[jobs.InterestAccrual])
	}
	if _, on := specs[jobs.HoldExpiry]; on {
		t.Fatal("hold-expiry=off still scheduled")
	}
	if specs[jobs.Reconciliation] != "*/2 * * * * *" || specs[jobs.StandingOrders] != jobs.DefaultSchedule[jobs.StandingOrders] {
		t.Fatalf("specs %v", specs)
	}
	for _, bad := range []string{"interest-accrual=61 * * * *", "nope=* * * * *", "interest-accrual=* *"} {
		if _, err := jobs.ParseSchedule(bad); err == nil {
			t.Fatalf("%q was accepted", bad)
		}
	}
	// Every default fires where the docs say (slots in UTC here).
	for _, e := range entries {
		if e.Job == jobs.InterestAccrual {
			next := e.Next(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			if !next.Equal(time.Date(2026, 3, 1, 0, 5, 0, 0, time.UTC)) {
				t.Fatalf("interest next slot %v", next)
			}
		}
	}
}

// A periodic job has no arguments: its business key comes from the slot in
// its id, in the bank's zone, not from EnqueuedAt (rewritten by requeues).
func TestSlotGivesBusinessDate(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	slot := time.Date(2026, 3, 1, 0, 5, 0, 0, paris) // 2026-02-28 23:05 UTC
	j := &work.Job{Name: jobs.InterestAccrual, ID: fmt.Sprintf("periodic:%s:0 5 0 * * *:%d", jobs.InterestAccrual, slot.Unix()),
		EnqueuedAt: slot.Unix() + 86400}
	got, ok := jobs.SlotOf(j)
	if !ok || !got.Equal(slot) {
		t.Fatalf("slot %v %v, want %v", got, ok, slot)
	}
	if d := jobs.ArgsForSlot(jobs.InterestAccrual, got.In(paris))["date"]; d != "2026-02-28" {
		t.Fatalf("interest at %v accrues %v, want the day that ended in Paris", slot, d)
	}
	if m := jobs.ArgsForSlot(jobs.MonthlyStatements, got.In(paris))["month"]; m != "2026-02" {
		t.Fatalf("statements on %v cover %v, want the previous month", slot, m)
	}
	if d := jobs.ArgsForSlot(jobs.StandingOrders, got.In(paris))["date"]; d != "2026-03-01" {
		t.Fatalf("standing orders at %v run for %v, want that day", slot, d)
	}
	if _, ok := jobs.SlotOf(&work.Job{Name: jobs.InterestAccrual, ID: "0123abcd"}); ok {
		t.Fatal("an ordinary job id gave a slot")
	}
}

func queued(t *testing.T, pool *redis.Pool, job string) []work.Job {
	t.Helper()
	c := pool.Get()
	defer c.Close()
	raws, err := redis.ByteSlices(c.Do("LRANGE", jobs.Namespace+":jobs:"+job, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	var out []work.Job
	for _, raw := range raws {
		var j work.Job
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

func zcard(t *testing.T, pool *redis.Pool, key string) int {
	t.Helper()
	c := pool.Get()
	defer c.Close()
	n, err := redis.Int(c.Do("ZCARD", jobs.Namespace+":"+key))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The scheduler alone: gocraft's enqueuer puts the seconds slots in the
// scheduled set, the scheduler pool's requeuer moves due ones to their
// queue (not to the dead set), and nothing runs them (no worker). On
// start, the latest missed slot (the top of the hour) is caught up.
func TestSchedulerOnlyEnqueues(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{})
	entries, err := jobs.ParseSchedule("hold-expiry=* * * * * *;reconciliation=0 0 * * * *;interest-accrual=off;dormancy-sweep=off;monthly-statements=off;standing-orders=off;outbox-relay=off")
	if err != nil {
		t.Fatal(err)
	}
	s, err := jobs.NewScheduler(e.srv.Pool(t), "", entries, time.UTC, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s.CatchUp = time.Hour
	start := time.Now()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(queued(t, e.pool, jobs.HoldExpiry)) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	holds := queued(t, e.pool, jobs.HoldExpiry)
	if len(holds) < 2 {
		t.Fatalf("%d hold-expiry jobs queued in 10s by an every-second schedule", len(holds))
	}
	for _, j := range holds {
		slot, ok := jobs.SlotOf(&j)
		if !ok || len(j.Args) != 0 || slot.Before(start.Truncate(time.Second)) {
			t.Fatalf("queued %+v: want a gocraft periodic job (no args, id with a slot after the start)", j)
		}
	}
	if n := zcard(t, e.pool, "dead"); n != 0 {
		t.Fatalf("%d jobs dead-lettered by the scheduler's pool", n)
	}
	if n := zcard(t, e.pool, "scheduled"); n < 200 {
		t.Fatalf("%d slots scheduled ahead, want gocraft's 4-minute horizon of seconds", n)
	}
	recon := queued(t, e.pool, jobs.Reconciliation)
	hour := start.Truncate(time.Hour)
	if len(recon) != 1 || recon[0].ID != fmt.Sprintf("periodic:%s:0 0 * * * *:%d", jobs.Reconciliation, hour.Unix()) {
		t.Fatalf("caught-up reconciliation %+v, want the %v slot", recon, hour)
	}
	// Nothing was executed: no reconciliation result was stored.
	if _, ok, _ := ledger.New(e.pool).LastReconciliation(ctx); ok {
		t.Fatal("the scheduler ran a job")
	}
}

// Three scheduler pools run gocraft's enqueuer at once with an
// every-second interest schedule: the same business day (yesterday) is
// enqueued again and again, and a worker runs every firing; each account
// still gets exactly one posting for that day.
func TestThreeSchedulersOnePostingPerAccountPerDay(t *testing.T) {
	ctx := context.Background()
	// Keep every slot of the test on one day: slots after midnight are a
	// new business day (and a legitimate second posting).
	if left := time.Until(time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)); left < 30*time.Second {
		time.Sleep(left + time.Second)
	}
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
	entries, err := jobs.ParseSchedule("interest-accrual=* * * * * *;standing-orders=off;hold-expiry=off;reconciliation=off;dormancy-sweep=off;monthly-statements=off;outbox-relay=off")
	if err != nil {
		t.Fatal(err)
	}
	var scheds []*jobs.Scheduler
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		s, err := jobs.NewScheduler(e.srv.Pool(t), "", entries, time.UTC, quiet)
		if err != nil {
			t.Fatal(err)
		}
		s.CatchUp = 2 * time.Second // a slot or two in the past, as a restarted replica adds
		scheds = append(scheds, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Start(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	reg := prometheus.NewRegistry()
	m := jobs.NewMetrics(reg)
	w := jobs.NewWorker(e.r, jobs.WorkerOptions{Concurrency: 3, Metrics: m})
	w.Start()
	defer w.Stop(time.Second)
	runs := func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "bank_jobs_processed_total" {
				continue
			}
			for _, x := range mf.GetMetric() {
				for _, l := range x.GetLabel() {
					if l.GetName() == jobs.JobLabel && l.GetValue() == jobs.InterestAccrual {
						return int(x.GetCounter().GetValue())
					}
				}
			}
		}
		return 0
	}
	deadline := time.Now().Add(15 * time.Second)
	for runs() < 4 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range scheds {
		s.Stop()
	}
	// Drop the slots gocraft scheduled ahead (4 minutes of seconds).
	c := e.pool.Get()
	c.Do("DEL", jobs.Namespace+":scheduled")
	c.Close()
	waitIdle(t, e.pool, 20*time.Second)
	n := runs()
	if n < 4 {
		t.Fatalf("interest-accrual ran %d times in 15s on an every-second schedule", n)
	}
	for _, a := range accts {
		got := e.interestEntries(t, a.Number)
		if len(got) != 1 || got[0].Amount != 500_000*730/3_650_000 {
			t.Fatalf("%s: %d interest postings %+v after %d runs, want exactly 1 of 100", a.Number, len(got), got, n)
		}
		if !strings.HasPrefix(got[0].TransferID, "in_") {
			t.Fatalf("%s: posting %+v is not an interest transfer", a.Number, got[0])
		}
	}
	e.balanced(t)
}
