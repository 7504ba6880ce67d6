package ledger

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Mismatch is an account whose balance differs from the sum of its journal.
type Mismatch struct {
	Account    string `json:"account"`
	Balance    int64  `json:"balance"`
	JournalSum int64  `json:"journal_sum"`
	Entries    int64  `json:"entries"`
}

// Report is the result of checking the ledger's invariants.
type Report struct {
	CheckedAt  time.Time        `json:"checked_at"`
	Accounts   int              `json:"accounts"`
	Entries    int64            `json:"entries"`
	Sums       map[string]int64 `json:"sums"`       // per currency; must all be zero
	Mismatches []Mismatch       `json:"mismatches"` // must be empty
	Duration   string           `json:"duration"`
}

// Balanced reports whether every invariant holds.
func (r Report) Balanced() bool {
	for _, s := range r.Sums {
		if s != 0 {
			return false
		}
	}
	return len(r.Mismatches) == 0
}

// Imbalance is the sum of |per-currency sums|, in minor units (mixed
// currencies, so only zero is meaningful).
func (r Report) Imbalance() int64 {
	var t int64
	for _, s := range r.Sums {
		if s < 0 {
			s = -s
		}
		t += s
	}
	return t
}

// Reconcile recomputes the invariants: per currency the balances sum to
// zero, and each account's balance equals the sum of its journal. It reads
// while postings may run; an account is read (balance and journal) inside
// one MULTI so the pair is consistent, but the per-currency sum can be off
// transiently if a posting lands between two accounts' reads — a non-zero
// sum is re-checked once before it is reported.
func (l *Ledger) Reconcile(ctx context.Context) (Report, error) {
	start := time.Now()
	rep, err := l.reconcileOnce(ctx)
	if err == nil && !rep.Balanced() {
		rep, err = l.reconcileOnce(ctx)
	}
	rep.Duration = time.Since(start).String()
	return rep, err
}

func (l *Ledger) reconcileOnce(ctx context.Context) (Report, error) {
	rep := Report{CheckedAt: l.Now().UTC(), Sums: map[string]int64{}, Mismatches: []Mismatch{}}
	nums, err := l.AccountNumbers(ctx)
	if err != nil {
		return rep, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return rep, err
	}
	defer c.Close()
	for _, n := range nums {
		c.Send("MULTI")
		c.Send("HMGET", accountKey(n), "balance", "currency")
		c.Send("XRANGE", journalKey(n), "-", "+")
		vals, err := redis.Values(c.Do("EXEC"))
		if err != nil {
			return rep, fmt.Errorf("ledger: %w", err)
		}
		hm, _ := redis.Strings(vals[0], nil)
		entries, err := decodeEntries(vals[1].([]any))
		if err != nil {
			return rep, err
		}
		bal := atoi(hm[0])
		var sum int64
		for _, e := range entries {
			sum += e.Amount
		}
		rep.Accounts++
		rep.Entries += int64(len(entries))
		rep.Sums[hm[1]] += bal
		if sum != bal {
			rep.Mismatches = append(rep.Mismatches, Mismatch{Account: n, Balance: bal, JournalSum: sum, Entries: int64(len(entries))})
		}
	}
	sort.Slice(rep.Mismatches, func(i, j int) bool { return rep.Mismatches[i].Account < rep.Mismatches[j].Account })
	return rep, nil
}
