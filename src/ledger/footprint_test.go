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
// does in production; with this release's scripts, and with release
// f02ea3b's (a record hash per transfer, a record hash per key) to
// compare.
func BenchmarkFootprint(b *testing.B) {
	b.Run("journal-record", func(b *testing.B) {
		footprint(b, func(l *ledger.Ledger, p ledger.Posting) error {
			_, _, err := l.Post(context.Background(), p)
			return err
		})
	})
	b.Run("f02ea3b", func(b *testing.B) {
		footprint(b, func(l *ledger.Ledger, p ledger.Posting) error {
			_, err := l.PostLegacy(context.Background(), p)
			return err
		})
	})
}

func footprint(b *testing.B, post func(*ledger.Ledger, ledger.Posting) error) {
	l, pool := newLedgerOnPool(b)
	user := func(i int) string { return fmt.Sprintf("u_%024x", i%4) }
	var accts []string
	for i := 0; i < 16; i++ {
		a := open(b, l, user(i), bank.Checking, "EUR", 0)
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
	drain()
	pieces := func() [3]int64 {
		return [3]int64{memoryOf(b, pool, keyspace.Journal), memoryOf(b, pool, keyspace.Idempotency) + memoryOf(b, pool, keyspace.IdempotencyWindow), memoryOf(b, pool, keyspace.Transfer)}
	}
	was := pieces()
	before := usedMemory(b, pool)
	run := time.Now().UnixNano()
	total := b.N * 20000
	for i := 0; i < total; i++ {
		err := post(l, ledger.Posting{From: accts[i%16], To: accts[(i+1)%16], Amount: 1, Currency: "EUR", InitiatedBy: user(i),
			Touch: ledger.TouchFrom, Idem: ledger.Idem{Scope: user(i), Key: fmt.Sprintf("load-%d-%d-%d", run, i%32, i),
				Hash: strings.Repeat("ab", 32)}})
		if err != nil {
			b.Fatal(err)
		}
	}
	drain()
	after := usedMemory(b, pool)
	is := pieces()
	b.ReportMetric(float64(after-before)/float64(total), "B/posting")
	// The pieces, by MEMORY USAGE (all samples): the two journal
	// entries, the idempotency record (a key of its own, or a window's field) and the transfer record.
	b.ReportMetric(float64(is[0]-was[0])/float64(total), "journal-B/posting")
	b.ReportMetric(float64(is[1]-was[1])/float64(total), "idem-B/posting")
	b.ReportMetric(float64(is[2]-was[2])/float64(total), "transfer-B/posting")
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
