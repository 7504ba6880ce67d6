package ledger_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

// usedMemory is Redis's used_memory in bytes.
func usedMemory(tb testing.TB, pool *redis.Pool) int64 {
	tb.Helper()
	c := pool.Get()
	defer c.Close()
	info, err := redis.String(c.Do("INFO", "memory"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("no used_memory in INFO")
	return 0
}

// BenchmarkFootprint reports the Redis memory a stored customer transfer
// costs (bytes per posting, the idempotency record included), as `make
// bench` measures it over HTTP: many transfers between a few accounts,
// each with its own Idempotency-Key, and the outbox drained as the relay
// does in production.
func BenchmarkFootprint(b *testing.B) {
	ctx := context.Background()
	l, pool := newLedgerOnPool(b)
	var accts []string
	for i := 0; i < 16; i++ {
		a := open(b, l, fmt.Sprintf("u_%024d", i%4), bank.Checking, "EUR", 0)
		deposit(b, l, a.Number, bank.MaxAmount, "EUR")
		accts = append(accts, a.Number)
	}
	drain := func() {
		c := pool.Get()
		defer c.Close()
		if _, err := c.Do("DEL", ledger.KeyOutbox); err != nil {
			b.Fatal(err)
		}
	}
	const n = 20000
	drain()
	before := usedMemory(b, pool)
	run := time.Now().UnixNano()
	total := b.N * n
	for i := 0; i < total; i++ {
		{
			from, to := accts[i%16], accts[(i+1)%16]
			_, _, err := l.Post(ctx, ledger.Posting{From: from, To: to, Amount: 1, Currency: "EUR", InitiatedBy: fmt.Sprintf("u_%024d", i%4),
				Touch: ledger.TouchFrom, Idem: ledger.Idem{Scope: fmt.Sprintf("u_%024d", i%4), Key: fmt.Sprintf("load-%d-%d-%d", run, i%32, i),
					Hash: strings.Repeat("ab", 32)}})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	drain()
	after := usedMemory(b, pool)
	b.ReportMetric(float64(after-before)/float64(total), "B/posting")
	// The pieces, by MEMORY USAGE (all samples): the journals (they held
	// the deposits before, a few entries), the idempotency windows, and
	// the transfer hashes, which a plain transfer no longer writes.
	b.ReportMetric(float64(memoryOf(b, pool, keyspace.Journal))/float64(total), "journal-B/posting")
	b.ReportMetric(float64(memoryOf(b, pool, keyspace.IdempotencyWindow))/float64(total), "idem-B/posting")
	b.ReportMetric(float64(memoryOf(b, pool, keyspace.Transfer)), "transfer-hash-B")
}

// memoryOf sums MEMORY USAGE over the keys under prefix.
func memoryOf(tb testing.TB, pool *redis.Pool, prefix string) int64 {
	tb.Helper()
	c := pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", prefix+"*"))
	if err != nil {
		tb.Fatal(err)
	}
	var sum int64
	for _, k := range keys {
		n, err := redis.Int64(c.Do("MEMORY", "USAGE", k, "SAMPLES", 0))
		if err != nil {
			tb.Fatal(err)
		}
		sum += n
	}
	return sum
}
