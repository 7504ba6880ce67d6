package ledger_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// BenchmarkTransfer measures one idempotent transfer through the Lua
// posting script against a real redis-server, sequentially and in parallel.
func BenchmarkTransfer(b *testing.B) {
	ctx := context.Background()
	l := newLedger(b)
	// Four owners: one may open only so many accounts (Limits.MaxAccounts).
	var accts []string
	for i := 0; i < 16; i++ {
		a := open(b, l, fmt.Sprintf("bench-%d", i%4), bank.Checking, "EUR", 0)
		deposit(b, l, a.Number, bank.MaxAmount, "EUR")
		accts = append(accts, a.Number)
	}
	var n atomic.Int64
	post := func() error {
		i := n.Add(1)
		from, to := accts[i%16], accts[(i+1)%16]
		_, _, err := l.Post(ctx, ledger.Posting{From: from, To: to, Amount: 1, Currency: "EUR",
			Idem: ledger.Idem{Scope: "bench", Key: fmt.Sprint(i), Hash: "h"}})
		return err
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := post(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := post(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	})
}
