package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocraft/work"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/schedule"
	"github.com/kubebank/kubebank/src/worker"
)

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
	entries, err := schedule.Parse("interest-accrual=* * * * * *;standing-orders=off;hold-expiry=off;reconciliation=off;dormancy-sweep=off;monthly-statements=off;outbox-relay=off")
	if err != nil {
		t.Fatal(err)
	}
	var scheds []*schedule.Scheduler
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		s, err := schedule.NewScheduler(e.srv.Pool(t), "", entries, time.UTC, quiet)
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
	m := worker.NewMetrics(reg)
	w := worker.New(e.pool, e.r, worker.Options{Concurrency: 3, Metrics: m})
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
		if got[0].Kind != bank.PostingInterest || !strings.HasPrefix(got[0].Description, "Interest ") {
			t.Fatalf("%s: posting %+v is not an interest transfer", a.Number, got[0])
		}
	}
	e.balanced(t)
}
