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
	end, err := l.balanceEnd(at)
	if err != nil {
		return PointBalance{}, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return PointBalance{}, err
	}
	defer c.Close()
	raw, err := redis.Values(c.Do("XREVRANGE", journalKey(account), end, "-", "COUNT", 1))
	if err != nil {
		return PointBalance{}, fmt.Errorf("ledger: %w", err)
	}
	return pointOf(account, raw)
}

// balanceEnd is the newest journal id that counts for the balance at at:
// an end id without a sequence ("<ms>") is "<ms>-<max>" to Redis.
func (l *Ledger) balanceEnd(at time.Time) (string, error) {
	ms := at.UnixMilli()
	if ms < 1 {
		return "", ErrTimeBeforeEpoch
	}
	if at.After(l.Now()) {
		return "", ErrTimeInFuture
	}
	return strconv.FormatInt(ms, 10), nil
}

// pointOf is the balance after the newest of the entries raw (at most
// one, XREVRANGE's reply), 0 when there is none.
func pointOf(account string, raw []any) (PointBalance, error) {
	entries, err := decodeEntries(account, raw)
	if err != nil || len(entries) == 0 {
		return PointBalance{}, err
	}
	return PointBalance{Balance: entries[0].BalanceAfter, EntryID: entries[0].ID}, nil
}
