package api_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
)

// BenchmarkTransferHTTP measures one transfer through the whole API
// (HTTP, bearer-token check, strict decoding, ownership checks, the Lua
// posting) against a real redis-server, serially and with 8 clients per
// core. Response validation against the OpenAPI document is off here: it
// is the test client's cost, not the server's.
func BenchmarkTransferHTTP(b *testing.B) {
	e := newEnv(b)
	teller := e.user(b, "bteller", bank.Teller)
	tok := e.user(b, "bench", bank.Customer)
	// Between the sender's own accounts: a customer may open only so many.
	var accts []string
	for i := 0; i < 4; i++ {
		a := e.open(b, tok, map[string]any{"type": "checking", "currency": "EUR"})
		e.deposit(b, teller, a.Number, bank.MaxAmount, "EUR")
		accts = append(accts, a.Number)
	}
	e.skipValidation = true
	var n atomic.Int64
	post := func(b *testing.B) {
		i := n.Add(1)
		r := e.do(b, req{Method: "POST", Path: "/v1/transfers", Token: tok, Key: fmt.Sprint("bench-", i),
			Body: fmt.Sprintf(`{"from":%q,"to":%q,"amount":1,"currency":"EUR"}`, accts[i%4], accts[(i+1)%4])})
		if r.Status != 201 {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			post(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	})
}
