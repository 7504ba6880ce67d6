package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
)

// An account more than MaxInterestCatchUp days behind gets every missed
// day, oldest first and each once, spread over bounded runs; no day is
// skipped (the accrual script would never go back to it).
func TestInterestCatchUpIsCompleteAndBounded(t *testing.T) {
	ctx := context.Background()
	backlog := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b"}, []string{jobs.JobLabel})
	e := newEnv(t, jobs.Options{Backlog: backlog})
	saver := e.open(t, "s", bank.Savings, 500)
	e.deposit(t, saver.Number, 10_000_000) // ~13.70 EUR a day: every day posts
	opened := bank.NewDay(e.now, time.UTC)
	e.now = e.now.Add(100 * 24 * time.Hour)
	day := bank.NewDay(e.now.Add(-24*time.Hour), time.UTC)
	total := int(day.Ordinal - opened.Ordinal + 1)
	if total <= jobs.MaxInterestCatchUp {
		t.Fatalf("test needs more than %d days behind, has %d", jobs.MaxInterestCatchUp, total)
	}

	var days, behind []int
	for run := 0; run < 3; run++ {
		sum, err := e.r.AccrueInterest(ctx, []string{saver.Number}, day)
		if err != nil {
			t.Fatal(err)
		}
		days = append(days, sum.Days)
		behind = append(behind, sum.Behind)
	}
	if want := []int{jobs.MaxInterestCatchUp, total - jobs.MaxInterestCatchUp, 0}; days[0] != want[0] || days[1] != want[1] || days[2] != want[2] {
		t.Fatalf("days per run %v, want %v", days, want)
	}
	if behind[0] != 1 || behind[1] != 0 {
		t.Fatalf("accounts left behind per run %v, want [1 0 0]", behind)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(backlog)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Fatalf("backlog metric %v %v, want one account counted once", mfs, err)
	}

	entries, err := e.l.EntriesBetween(ctx, saver.Number, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		if en.Kind == "interest" {
			got = append(got, strings.TrimPrefix(en.Description, "Interest "))
		}
	}
	if len(got) != total {
		t.Fatalf("%d interest postings, want %d (one per day)", len(got), total)
	}
	for i, d := range got {
		if want := bank.DayFromOrdinal(opened.Ordinal+int64(i), time.UTC).Date; d != want {
			t.Fatalf("posting %d is for %s, want %s (in order, each day once)", i, d, want)
		}
	}
	e.balanced(t)
}

// A daily standing order more than MaxCatchUp dates behind is paid for
// every date over consecutive runs, each date once.
func TestStandingOrderCatchUpIsComplete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{Inline: true})
	from := e.open(t, "alice", bank.Checking, 0)
	to := e.open(t, "bob", bank.Checking, 0)
	e.deposit(t, from.Number, 1_000_000)
	o, _, err := e.r.Standing.Create(ctx, "alice", standing.Request{From: from.Number, To: to.Number, Amount: 100,
		Currency: "EUR", Frequency: standing.Daily, FirstDate: "2026-01-01"}, e.now, ledger.Idem{})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(99 * 24 * time.Hour)
	day := bank.NewDay(e.now, time.UTC) // 2026-04-10: 100 dates due
	for run := 0; run < 3; run++ {
		if _, err := e.r.RunStandingOrders(ctx, day); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.r.Standing.Get(ctx, "alice", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != 100 || got.Runs[0].Date != "2026-01-01" || got.Runs[99].Date != day.Date {
		t.Fatalf("%d runs (%v…), want the 100 dates 2026-01-01..%s", len(got.Runs), got.Runs[:min(len(got.Runs), 2)], day.Date)
	}
	if b := e.account(t, to.Number).Balance; b != 100*100 {
		t.Fatalf("payee got %d, want %d", b, 100*100)
	}
	e.balanced(t)
}
