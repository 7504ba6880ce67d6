package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
)

// PointBalance is an account's posted balance at an instant, read from its
// journal: the balance after the last entry at or before that instant.
type PointBalance struct {
	Balance int64
	// EntryID is that entry's stream id, "" when the journal has none so
	// old (the account was empty, or did not exist yet: balance 0).
	EntryID string
}

// Errors of BalanceAt for an instant the journal cannot answer for.
var (
	ErrTimeBeforeEpoch = bank.Errorf(bank.KindInvalid, "invalid_time", "at must be after 1970-01-01T00:00:00Z")
	ErrTimeInFuture    = bank.Errorf(bank.KindInvalid, "future_time", "at must not be in the future: a future balance is not known")
)

// BalanceAt returns the posted balance of account at the instant at, in
// one round trip. Journal ids are Unix milliseconds, so every entry in the
// millisecond of at counts, whatever its sequence number. The balance
// comes from the entry itself, never from replaying amounts: the journal
// already records the balance after each posting. It does not check that
// the account exists (an unknown account has an empty journal, balance 0).
func (l *Ledger) BalanceAt(ctx context.Context, account string, at time.Time) (PointBalance, error) {
	ms := at.UnixMilli()
	if ms < 1 {
		return PointBalance{}, ErrTimeBeforeEpoch
	}
	if at.After(l.Now()) {
		return PointBalance{}, ErrTimeInFuture
	}
	c, err := l.conn(ctx)
	if err != nil {
		return PointBalance{}, err
	}
	defer c.Close()
	// An end id without a sequence ("<ms>") is "<ms>-<max>" to Redis.
	raw, err := redis.Values(c.Do("XREVRANGE", journalKey(account), strconv.FormatInt(ms, 10), "-", "COUNT", 1))
	if err != nil {
		return PointBalance{}, fmt.Errorf("ledger: %w", err)
	}
	entries, err := decodeEntries(account, raw)
	if err != nil || len(entries) == 0 {
		return PointBalance{}, err
	}
	return PointBalance{Balance: entries[0].BalanceAfter, EntryID: entries[0].ID}, nil
}
