package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
)

// A stored number that does not parse is an error for every reader, never
// a balance of 0 that a customer or a job would act on.
func TestMalformedStoredBalanceIsAnError(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	pool := srv.Pool(t)
	l := ledger.New(pool)
	a := open(t, l, "alice", bank.Checking, "EUR", 0)
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("HSET", keyspace.Account+a.Number, "balance", "12x"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Account(ctx, a.Number); err == nil || !strings.Contains(err.Error(), `malformed integer "12x"`) {
		t.Fatalf("Account: %v, want a malformed-integer error", err)
	}
	if _, err := l.AccountsOf(ctx, "alice"); err == nil {
		t.Fatal("AccountsOf read a malformed balance without an error")
	}
}
