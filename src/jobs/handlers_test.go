package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/worker"
)

// Interest through the real queue: the daily job fans out into batches,
// run twice and on two worker pools at once: one posting per account.
func TestInterestJobTwiceOnTwoWorkers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{BatchSize: 7})
	var savings []bank.Account
	for i := 0; i < 30; i++ {
		a := e.open(t, fmt.Sprintf("u%d", i), bank.Savings, 365)
		e.deposit(t, a.Number, int64(1_000_000+i))
		savings = append(savings, a)
	}
	chk := e.open(t, "c", bank.Checking, 0)
	e.deposit(t, chk.Number, 5_000)
	e.now = time.Date(2026, 1, 2, 0, 5, 0, 0, time.UTC)

	w1 := worker.New(e.pool, e.r, worker.Options{Concurrency: 3})
	w2 := worker.New(e.pool, newRunner(e.pool, e.l, jobs.Options{BatchSize: 7, Log: quiet}), worker.Options{Concurrency: 3})
	w1.Start()
	w2.Start()
	defer w1.Stop(time.Second)
	defer w2.Stop(time.Second)
	for i := 0; i < 3; i++ {
		if _, err := e.r.Enqueue(jobs.InterestAccrual, map[string]any{"date": "2026-01-01"}); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, e.pool, 20*time.Second)
	for i, a := range savings {
		bal := int64(1_000_000 + i)
		want := bal * 365 / ledger.InterestDivisor
		got := e.interestEntries(t, a.Number)
		if len(got) != 1 || got[0].Amount != want || got[0].Description != "Interest 2026-01-01" {
			t.Fatalf("%s: interest entries %+v, want one of %d", a.Number, got, want)
		}
		if b := e.account(t, a.Number).Balance; b != bal+want {
			t.Fatalf("%s: balance %d, want %d", a.Number, b, bal+want)
		}
	}
	if n := len(e.interestEntries(t, chk.Number)); n != 0 {
		t.Fatalf("checking account earned interest %d times", n)
	}
	// Running the same day again by hand (inline) changes nothing.
	inline := newRunner(e.pool, e.l, jobs.Options{Inline: true, Log: quiet})
	before := e.account(t, savings[0].Number).Balance
	if err := inline.Handle(ctx, jobs.InterestAccrual, map[string]any{"date": "2026-01-01"}); err != nil {
		t.Fatal(err)
	}
	if after := e.account(t, savings[0].Number).Balance; after != before {
		t.Fatalf("re-run moved money: %d → %d", before, after)
	}
	e.balanced(t)
}

// A missed day is caught up by the next day's run, in order.
func TestInterestCatchesUpMissedDays(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{Inline: true})
	a := e.open(t, "u", bank.Savings, 3650) // 36.5%: 0.1% a day
	e.deposit(t, a.Number, 1_000_000)
	e.now = time.Date(2026, 1, 4, 0, 5, 0, 0, time.UTC)
	if err := e.r.Handle(ctx, jobs.InterestAccrual, map[string]any{"date": "2026-01-03"}); err != nil {
		t.Fatal(err)
	}
	got := e.interestEntries(t, a.Number)
	// Jan 1, 2, 3 on the same end-of-day balance (the postings land on Jan 4).
	if len(got) != 3 || got[0].Amount != 1000 || got[2].Amount != 1000 {
		t.Fatalf("entries %+v, want three of 1000", got)
	}
	if got[0].Description != "Interest 2026-01-01" || got[2].Description != "Interest 2026-01-03" {
		t.Fatalf("days out of order: %+v", got)
	}
}

func TestDormancySweep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{Inline: true, BatchSize: 2})
	idle := e.open(t, "idle", bank.Checking, 0)
	busy := e.open(t, "busy", bank.Checking, 0)
	saver := e.open(t, "saver", bank.Savings, 100)
	e.deposit(t, saver.Number, 100_000)
	// 179 days later the busy account pays in; at 181 days the sweep runs.
	e.now = e.now.Add(179 * 24 * time.Hour)
	e.deposit(t, busy.Number, 100)
	e.now = e.now.Add(2 * 24 * time.Hour)
	day := bank.NewDay(e.now.Add(-time.Hour), time.UTC).Date
	for i := 0; i < 2; i++ { // twice: the second run changes nothing
		if err := e.r.Handle(ctx, jobs.DormancySweep, map[string]any{"date": day}); err != nil {
			t.Fatal(err)
		}
	}
	if s := e.account(t, idle.Number).Status; s != bank.Dormant {
		t.Fatalf("idle account is %s, want dormant", s)
	}
	if s := e.account(t, saver.Number).Status; s != bank.Dormant {
		t.Fatalf("saver account is %s, want dormant", s)
	}
	if s := e.account(t, busy.Number).Status; s != bank.Active {
		t.Fatalf("busy account is %s, want active", s)
	}
	// Dormant accounts still get interest and deposits; a customer deposit revives.
	if _, err := e.r.AccrueInterest(ctx, []string{saver.Number}, bank.NewDay(e.now.Add(-24*time.Hour), time.UTC)); err != nil {
		t.Fatal(err)
	}
	if a := e.account(t, saver.Number); a.Balance <= 100_000 || a.Status != bank.Dormant {
		t.Fatalf("dormant saver: %+v, want interest and still dormant (interest is not customer activity)", a)
	}
	e.deposit(t, idle.Number, 1)
	if s := e.account(t, idle.Number).Status; s != bank.Active {
		t.Fatalf("after a deposit the account is %s, want active", s)
	}
	e.balanced(t)
}

func TestMonthlyStatement(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{Inline: true})
	a := e.open(t, "u", bank.Checking, 0)
	b := e.open(t, "v", bank.Checking, 0)
	e.now = time.Date(2025, 12, 20, 10, 0, 0, 0, time.UTC)
	e.deposit(t, a.Number, 50_000) // before the month: the opening balance
	var in, out int64
	for i := 0; i < 100; i++ {
		e.now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
		amt := int64(100 + i)
		if i%3 == 0 {
			if _, _, err := e.l.Post(ctx, ledger.Posting{From: a.Number, To: b.Number, Amount: amt, Currency: "EUR"}); err != nil {
				t.Fatal(err)
			}
			out += amt
		} else {
			e.deposit(t, a.Number, amt)
			in += amt
		}
	}
	e.now = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) // first instant of February: not in January
	e.deposit(t, a.Number, 999)
	monthEnd := e.account(t, a.Number).Balance - 999
	e.now = time.Date(2026, 2, 1, 0, 10, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		if err := e.r.Handle(ctx, jobs.MonthlyStatements, map[string]any{"month": "2026-01"}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := e.r.Statements.Get(ctx, a.Number, "2026-01")
	if err != nil {
		t.Fatal(err)
	}
	if st.OpeningBalance != 50_000 || st.TotalIn != in || st.TotalOut != out || len(st.Entries) != 100 {
		t.Fatalf("statement: opening %d in %d out %d entries %d; want 50000 %d %d 100", st.OpeningBalance, st.TotalIn, st.TotalOut, len(st.Entries), in, out)
	}
	if st.ClosingBalance != monthEnd || st.ClosingBalance != 50_000+in-out {
		t.Fatalf("closing %d, want the ledger's month-end balance %d", st.ClosingBalance, monthEnd)
	}
	list, err := e.r.Statements.List(ctx, a.Number)
	if err != nil || len(list) != 1 || list[0].Entries != nil {
		t.Fatalf("list: %+v %v", list, err)
	}
	var sb strings.Builder
	if err := statements.WriteCSV(&sb, st); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(sb.String(), "\n"); lines != 9+100 {
		t.Fatalf("csv has %d lines, want 109", lines)
	}
	if !strings.Contains(sb.String(), fmt.Sprintf("closing_balance,%d,", monthEnd)) {
		t.Fatalf("csv lacks the closing balance:\n%s", sb.String()[:300])
	}
}

func TestStandingOrders(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{Inline: true})
	from := e.open(t, "alice", bank.Checking, 0)
	to := e.open(t, "bob", bank.Checking, 0)
	e.deposit(t, from.Number, 2_500)
	o, _, err := e.r.Standing.Create(ctx, "alice", standing.Request{From: from.Number, To: to.Number, Amount: 1_000,
		Currency: "EUR", Frequency: standing.Daily, FirstDate: "2026-01-01", Count: 4}, e.now, ledger.Idem{Scope: "alice", Key: "k1", Hash: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	// Another customer's account cannot be the source.
	if _, _, err := e.r.Standing.Create(ctx, "mallory", standing.Request{From: from.Number, To: to.Number, Amount: 1,
		Currency: "EUR", Frequency: standing.Daily, FirstDate: "2026-01-01"}, e.now, ledger.Idem{}); err == nil {
		t.Fatal("mallory created an order on alice's account")
	}
	run := func(date string) {
		t.Helper()
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ { // three workers on the same minute
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.r.Handle(ctx, jobs.StandingOrders, map[string]any{"date": date}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	run("2026-01-01")
	run("2026-01-01")
	run("2026-01-02")
	// Jan 3: 500 left, the order fails for that date and does not retry.
	run("2026-01-03")
	e.deposit(t, from.Number, 10_000)
	run("2026-01-03")
	// Missed Jan 4 and 5: Jan 4 is paid on the 5th's run, the count (4) ends the order.
	run("2026-01-05")
	got, err := e.r.Standing.Get(ctx, "alice", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-01-01 executed", "2026-01-02 executed", "2026-01-03 failed insufficient_funds", "2026-01-04 executed"}
	if len(got.Runs) != len(want) {
		t.Fatalf("runs %+v, want %v", got.Runs, want)
	}
	for i, r := range got.Runs {
		s := r.Date + " " + string(r.Status)
		if r.Code != "" {
			s += " " + r.Code
		}
		if s != want[i] {
			t.Fatalf("run %d: %q, want %q", i, s, want[i])
		}
	}
	if got.Status != standing.Completed {
		t.Fatalf("status %s, want completed", got.Status)
	}
	if b := e.account(t, to.Number).Balance; b != 3_000 {
		t.Fatalf("payee got %d, want 3000", b)
	}
	// Idempotent creation: same key → same order.
	again, replayed, err := e.r.Standing.Create(ctx, "alice", standing.Request{From: from.Number, To: to.Number, Amount: 1_000,
		Currency: "EUR", Frequency: standing.Daily, FirstDate: "2026-01-01", Count: 4}, e.now, ledger.Idem{Scope: "alice", Key: "k1", Hash: "order-1"})
	if err != nil || !replayed || again.ID != o.ID {
		t.Fatalf("replay: %v %v %v", again.ID, replayed, err)
	}
	// Cancel stops future dates.
	o2, _, err := e.r.Standing.Create(ctx, "alice", standing.Request{From: from.Number, To: to.Number, Amount: 10,
		Currency: "EUR", Frequency: standing.Monthly, FirstDate: "2026-01-31"}, e.now, ledger.Idem{})
	if err != nil {
		t.Fatal(err)
	}
	run("2026-01-31")
	if _, err := e.r.Standing.Cancel(ctx, "alice", o2.ID); err != nil {
		t.Fatal(err)
	}
	run("2026-02-28")
	got2, _ := e.r.Standing.Get(ctx, "alice", o2.ID)
	if len(got2.Runs) != 1 || got2.Status != standing.Cancelled {
		t.Fatalf("cancelled order: %+v", got2)
	}
	if d := standing.DueDate(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), standing.Monthly, 1); d.Day() != 28 {
		t.Fatalf("monthly from Jan 31: %v, want Feb 28", d)
	}
	e.balanced(t)
}

func TestHoldExpiryAndReconciliation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, jobs.Options{Inline: true})
	a := e.open(t, "u", bank.Checking, 0)
	p := e.open(t, "shop", bank.Checking, 0)
	e.deposit(t, a.Number, 10_000)
	var holds []bank.Hold
	for i := 0; i < 3; i++ {
		h, _, err := e.l.Authorize(ctx, ledger.HoldRequest{Account: a.Number, Payee: p.Number, Amount: 1_000, Currency: "EUR", TTL: time.Duration(i+1) * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		holds = append(holds, h)
	}
	e.now = e.now.Add(150 * time.Minute) // two of three are past expiry
	for i := 0; i < 2; i++ {
		if err := e.r.Handle(ctx, jobs.HoldExpiry, nil); err != nil {
			t.Fatal(err)
		}
	}
	if acc := e.account(t, a.Number); acc.Held != 1_000 || acc.Available != 9_000 {
		t.Fatalf("after expiry held %d available %d, want 1000 and 9000", acc.Held, acc.Available)
	}
	for i, want := range []bank.HoldStatus{bank.HoldExpired, bank.HoldExpired, bank.HoldAuthorized} {
		h, _ := e.l.Hold(ctx, holds[i].ID)
		if h.Status != want {
			t.Fatalf("hold %d: %s, want %s", i, h.Status, want)
		}
	}
	if _, ok, _ := ledger.New(e.pool).LastReconciliation(ctx); ok {
		t.Fatal("a reconciliation result before any run")
	}
	if err := e.r.Handle(ctx, jobs.Reconciliation, nil); err != nil {
		t.Fatal(err)
	}
	last, ok, err := ledger.New(e.pool).LastReconciliation(ctx)
	if err != nil || !ok || !last.Balanced || last.Imbalance != 0 || last.Report.Accounts < 2 {
		t.Fatalf("reconciliation: %+v %v %v", last, ok, err)
	}
	// Break the ledger behind its back: the next run must report it.
	c := e.pool.Get()
	c.Do("HINCRBY", "bank:acct:"+a.Number, "balance", 7)
	c.Close()
	if err := e.r.Handle(ctx, jobs.Reconciliation, nil); err != nil {
		t.Fatal(err)
	}
	last, _, _ = ledger.New(e.pool).LastReconciliation(ctx)
	if last.Balanced || last.Imbalance != 7 || len(last.Report.Mismatches) != 1 {
		t.Fatalf("tampered ledger reported as %+v", last)
	}
}
