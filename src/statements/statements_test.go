package statements_test

import (
	"context"
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
