package ledger

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/redishash"
)

// Mismatch is an account whose balance differs from the sum of its
// journal, or whose journal's running balances do not add up.
type Mismatch struct {
	Account    string `json:"account"`
	Balance    int64  `json:"balance"`
	JournalSum int64  `json:"journal_sum"`
	Entries    int64  `json:"entries"`
	// BadEntry is the first entry whose balance_after is not the previous
	// balance plus its amount ("" when the chain is intact).
	BadEntry string `json:"bad_entry,omitempty"`
}

// HeldMismatch is an account whose held amount differs from the sum of
// its authorised holds.
type HeldMismatch struct {
	Account string `json:"account"`
	Held    int64  `json:"held"`
	Holds   int64  `json:"authorized_holds"`
}

// Report is the result of checking the ledger's invariants.
type Report struct {
	CheckedAt  time.Time        `json:"checked_at"`
	Accounts   int              `json:"accounts"`
	Entries    int64            `json:"entries"`    // journal entries read (new since the last check unless Full)
	Full       bool             `json:"full"`       // every journal read from its start
	Sums       map[string]int64 `json:"sums"`       // per currency; must all be zero
	Mismatches []Mismatch       `json:"mismatches"` // must be empty
	// HeldMismatches must be empty too.
	HeldMismatches []HeldMismatch `json:"held_mismatches"`
	Duration       string         `json:"duration"`
}

// Balanced reports whether every invariant holds.
func (r Report) Balanced() bool {
	for _, s := range r.Sums {
		if s != 0 {
			return false
		}
	}
	return len(r.Mismatches) == 0 && len(r.HeldMismatches) == 0
}

// Imbalance is the sum of |per-currency sums|, in minor units (mixed
// currencies, so only zero is meaningful).
func (r Report) Imbalance() int64 {
	var t int64
	for _, s := range r.Sums {
		if s < 0 {
			s = -s
		}
		if t > math.MaxInt64-s {
			return math.MaxInt64
		}
		t += s
	}
	return t
}

// Reconcile checks the invariants incrementally: the per-currency sums of
// all balances (read in one atomic script, so concurrent postings cannot
// cause false alarms) and, for each account, that its balance equals the
// verified sum of its journal plus the entries added since.
func (l *Ledger) Reconcile(ctx context.Context) (Report, error) { return l.reconcile(ctx, false) }

// ReconcileFull re-reads every journal from its start, ignoring and then
// renewing the checkpoints; it also catches an edited old journal entry.
func (l *Ledger) ReconcileFull(ctx context.Context) (Report, error) { return l.reconcile(ctx, true) }

func (l *Ledger) reconcile(ctx context.Context, full bool) (Report, error) {
	start := time.Now()
	rep := Report{CheckedAt: l.Now().UTC(), Full: full, Sums: map[string]int64{}, Mismatches: []Mismatch{}, HeldMismatches: []HeldMismatch{}}
	c, err := l.conn(ctx)
	if err != nil {
		return rep, err
	}
	defer c.Close()
	if rep.Sums, rep.HeldMismatches, err = currencySums(ctx, c); err != nil {
		return rep, err
	}
	nums, err := redis.Strings(c.Do("SMEMBERS", keyspace.Accounts))
	if err != nil {
		return rep, fmt.Errorf("ledger: %w", err)
	}
	sort.Strings(nums)
	for _, n := range nums {
		m, entries, err := l.checkAccount(c, n, full)
		if err != nil {
			return rep, err
		}
		rep.Accounts++
		rep.Entries += entries
		if m != nil {
			rep.Mismatches = append(rep.Mismatches, *m)
		}
	}
	rep.Duration = time.Since(start).String()
	return rep, nil
}

func currencySums(ctx context.Context, c redis.Conn) (map[string]int64, []HeldMismatch, error) {
	reply, err := redis.Values(scriptSums.DoContext(ctx, c, keyspace.Accounts, keyspace.HoldExpiry, keyspace.Account, keyspace.Hold))
	if err != nil || len(reply) != 2 {
		return nil, nil, fmt.Errorf("ledger: sums: %w", err)
	}
	vals, _ := redis.Strings(reply[0], nil)
	sums := map[string]int64{}
	for i := 0; i+3 < len(vals); i += 4 {
		hi, _ := new(big.Int).SetString(vals[i+1], 10)
		lo, _ := new(big.Int).SetString(vals[i+2], 10)
		if hi == nil || lo == nil {
			return nil, nil, fmt.Errorf("ledger: bad sums reply %q", vals)
		}
		total := hi.Mul(hi, big.NewInt(1e8)).Add(hi, lo)
		switch {
		case total.IsInt64():
			sums[vals[i]] = total.Int64()
		case total.Sign() > 0:
			sums[vals[i]] = math.MaxInt64
		default:
			sums[vals[i]] = math.MinInt64 + 1
		}
	}
	bad, _ := redis.Strings(reply[1], nil)
	held := []HeldMismatch{}
	for i := 0; i+2 < len(bad); i += 3 {
		h, err1 := redishash.Int("ledger: held of "+bad[i], bad[i+1])
		hs, err2 := redishash.Int("ledger: holds of "+bad[i], bad[i+2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, err
		}
		held = append(held, HeldMismatch{Account: bad[i], Held: h, Holds: hs})
	}
	sort.Slice(held, func(i, j int) bool { return held[i].Account < held[j].Account })
	return sums, held, nil
}

// checkAccount compares one account's balance with its journal, reading
// the balance and the unverified entries in one MULTI so both describe
// the same moment.
func (l *Ledger) checkAccount(c redis.Conn, n string, full bool) (*Mismatch, int64, error) {
	lastID, verified := "-", int64(0)
	if !full {
		ck, err := redis.String(c.Do("GET", reconCheckKey(n)))
		if err != nil && err != redis.ErrNil {
			return nil, 0, fmt.Errorf("ledger: %w", err)
		}
		if id, sum, ok := strings.Cut(ck, " "); ok && streamID.MatchString(id) {
			if verified, err = redishash.Int("ledger: "+reconCheckKey(n), sum); err != nil {
				return nil, 0, err
			}
			lastID = "(" + id
		}
	}
	c.Send("MULTI")
	c.Send("HGET", accountKey(n), "balance")
	c.Send("XRANGE", journalKey(n), lastID, "+")
	vals, err := redis.Values(c.Do("EXEC"))
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: %w", err)
	}
	bal, _ := redis.Int64(vals[0], nil)
	raw, _ := vals[1].([]any)
	entries, err := decodeEntries(n, raw)
	if err != nil {
		return nil, 0, err
	}
	sum, badEntry := verified, ""
	for _, e := range entries {
		sum += e.Amount
		if badEntry == "" && e.BalanceAfter != sum {
			badEntry = e.ID
		}
	}
	if sum != bal || badEntry != "" {
		return &Mismatch{Account: n, Balance: bal, JournalSum: sum, Entries: int64(len(entries)), BadEntry: badEntry}, int64(len(entries)), nil
	}
	if len(entries) > 0 {
		ck := entries[len(entries)-1].ID + " " + fmt.Sprint(sum)
		if _, err := c.Do("SET", reconCheckKey(n), ck); err != nil {
			return nil, 0, fmt.Errorf("ledger: %w", err)
		}
	}
	return nil, int64(len(entries)), nil
}
