package statements_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/statements"
)

// A statement is stored once and never rebuilt, so one for a month that
// has not ended is refused rather than frozen with a mid-month balance.
func TestBuildRefusesUnfinishedMonth(t *testing.T) {
	ctx := context.Background()
	l := ledger.New(redistest.Start(t).Pool(t))
	if err := l.EnsureSystemAccounts(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := l.Open(ctx, ledger.OpenRequest{Owner: "u", Type: bank.Checking, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	mid := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if _, err := statements.Build(ctx, l, a.Number, "2026-11", time.UTC, mid); bank.ErrorCode(err) != "month_not_ended" {
		t.Fatalf("mid-month build: got %v, want month_not_ended", err)
	}
	// In Berlin, November ends an hour before it does in UTC.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	justAfter := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	if _, err := statements.Build(ctx, l, a.Number, "2026-11", berlin, justAfter); err != nil {
		t.Fatalf("after the month ended in Berlin: %v", err)
	}
	if _, err := statements.Build(ctx, l, a.Number, "2026-11", time.UTC, justAfter); bank.ErrorCode(err) != "month_not_ended" {
		t.Fatalf("before it ended in UTC: got %v, want month_not_ended", err)
	}
}

// A run that stored a statement and died before indexing it is repaired
// by the next run: the statement is listed, and stored only once.
func TestSaveIndexesAStatementLeftUnlisted(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	pool := srv.Pool(t)
	store := statements.NewStore(pool)
	st := statements.Statement{Account: "1000000016", Month: "2026-10", Currency: "EUR", ClosingBalance: 42}
	c := pool.Get()
	defer c.Close()
	b, _ := json.Marshal(st)
	if _, err := c.Do("SET", "bank:statement:1000000016:2026-10", b); err != nil { // the crashed run's first write
		t.Fatal(err)
	}
	if list, _ := store.List(ctx, st.Account); len(list) != 0 {
		t.Fatalf("precondition: listed %v", list)
	}
	created, err := store.Save(ctx, st)
	if err != nil || created {
		t.Fatalf("second save: created %v, %v (want false: it already existed)", created, err)
	}
	list, err := store.List(ctx, st.Account)
	if err != nil || len(list) != 1 || list[0].Month != "2026-10" {
		t.Fatalf("after the repair run: %v %v", list, err)
	}
}
