package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/redishash"
)

// Hold expiry bounds.
const (
	DefaultHoldTTL = 7 * 24 * time.Hour
	MaxHoldTTL     = 30 * 24 * time.Hour
)

// HoldRequest reserves Amount on Account for a later capture to Payee.
type HoldRequest struct {
	Account, Payee string
	Amount         int64
	Currency       string
	Description    string
	TTL            time.Duration // 0 means DefaultHoldTTL
	InitiatedBy    string
	Idem           Idem
}

// Authorize places a hold: the available balance drops now, the posted
// balance only on capture.
func (l *Ledger) Authorize(ctx context.Context, r HoldRequest) (bank.Hold, bool, error) {
	ttl, err := checkHold(r)
	if err != nil {
		return bank.Hold{}, false, err
	}
	r.TTL = ttl
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Hold{}, false, err
	}
	defer c.Close()
	id := NewID("hd")
	now := l.Now()
	status, rid, err := decodeReply(l.move(ctx, c, scriptAuthorize,
		accountKey(r.Account), accountKey(r.Payee), holdKey(id), idemKey(r.Idem.Scope, r.Idem.Key), keyspace.HoldExpiry, acctHoldsKey(r.Account),
		r.Amount, r.Currency, id, now.UnixMilli(), now.Add(r.TTL).UnixMilli(), r.Description, r.Idem.Hash,
		int64(l.IdempotencyTTL.Seconds()), r.InitiatedBy))
	if err != nil {
		return bank.Hold{}, false, err
	}
	h, err := getHold(c, rid)
	return h, status == "replay", err
}

// checkHold checks a hold request's own fields and returns its lifetime
// (DefaultHoldTTL when r names none).
func checkHold(r HoldRequest) (time.Duration, error) {
	if err := ValidatePosting(Posting{Amount: r.Amount, Currency: r.Currency, Description: r.Description}); err != nil {
		return 0, err
	}
	if r.TTL == 0 {
		r.TTL = DefaultHoldTTL
	}
	if r.TTL < time.Second || r.TTL > MaxHoldTTL {
		return 0, bank.Errorf(bank.KindInvalid, "invalid_expiry", "a hold must expire between 1 second and %d days from now", int(MaxHoldTTL.Hours()/24))
	}
	return r.TTL, nil
}

// Capture posts amount (≤ the held amount) from the held account to the
// payee and releases the whole hold.
func (l *Ledger) Capture(ctx context.Context, holdID string, amount int64, desc, by string, idem Idem) (bank.Hold, bool, error) {
	if err := bank.ValidateAmount(amount); err != nil {
		return bank.Hold{}, false, err
	}
	if err := checkDescription(desc); err != nil {
		return bank.Hold{}, false, err
	}
	return l.settle(ctx, "capture", holdID, amount, desc, by, idem)
}

// Void releases a hold without moving money.
func (l *Ledger) Void(ctx context.Context, holdID, by string, idem Idem) (bank.Hold, bool, error) {
	return l.settle(ctx, "void", holdID, 0, "", by, idem)
}

// Expire releases a hold whose expiry has passed. It returns false when
// the hold was not due or already settled, which is not an error: the
// sweeper may run twice.
func (l *Ledger) Expire(ctx context.Context, holdID string) (bool, error) {
	_, _, err := l.settle(ctx, "expire", holdID, 0, "", "system", Idem{})
	if err == errNoop {
		return false, nil
	}
	return err == nil, err
}

var errNoop = fmt.Errorf("ledger: no-op")

func (l *Ledger) settle(ctx context.Context, action, holdID string, amount int64, desc, by string, idem Idem) (bank.Hold, bool, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Hold{}, false, err
	}
	defer c.Close()
	h, err := getHold(c, holdID)
	if err != nil {
		return bank.Hold{}, false, err
	}
	a := strconv.FormatInt(amount, 10)
	status, _, err := decodeReply(l.move(ctx, c, scriptSettle,
		holdKey(holdID), accountKey(h.Account), accountKey(h.Payee), journalKey(h.Account), journalKey(h.Payee),
		idemKey(idem.Scope, idem.Key), keyspace.HoldExpiry, KeyOutbox,
		action, a, "-"+a, l.nowMs(), idem.Hash, int64(l.IdempotencyTTL.Seconds()), by, bank.MaxBalance, desc))
	if err != nil {
		return bank.Hold{}, false, err
	}
	if status == "noop" {
		return bank.Hold{}, false, errNoop
	}
	h, err = getHold(c, holdID)
	return h, status == "replay", err
}

// Hold returns one hold.
func (l *Ledger) Hold(ctx context.Context, id string) (bank.Hold, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Hold{}, err
	}
	defer c.Close()
	return getHold(c, id)
}

// HoldsOf lists an account's holds, newest first, at most limit.
func (l *Ledger) HoldsOf(ctx context.Context, account string, limit int) ([]bank.Hold, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return newestOf(c, acctHoldsKey(account), limit, getHold)
}

// newestOf loads, with get, the records whose ids the sorted set index
// holds, highest score (newest) first, at most limit.
func newestOf[T any](c redis.Conn, index string, limit int, get func(redis.Conn, string) (T, error)) ([]T, error) {
	ids, err := redis.Strings(c.Do("ZREVRANGE", index, 0, limit-1))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		v, err := get(c, id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// DueHolds returns up to limit ids of authorised holds expiring at or before t.
func (l *Ledger) DueHolds(ctx context.Context, t time.Time, limit int) ([]string, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ids, err := redis.Strings(c.Do("ZRANGE", keyspace.HoldExpiry, "-inf", t.UnixMilli(), "BYSCORE", "LIMIT", 0, limit))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return ids, nil
}

func getHold(c redis.Conn, id string) (bank.Hold, error) {
	return readHash(c, holdKey(id), bank.ErrHoldNotFound, holdFrom)
}

// holdFrom decodes a hold record.
func holdFrom(f *redishash.Fields) bank.Hold {
	return bank.Hold{
		ID: f.Str("id"), Account: f.Str("account"), Payee: f.Str("payee"), Amount: f.Int("amount"),
		Captured: f.Int("captured"), Currency: f.Str("currency"), Description: f.Str("desc"), Status: bank.HoldStatus(f.Str("status")),
		TransferID: f.Str("transfer"), CreatedAt: f.Millis("created"), ExpiresAt: f.Millis("expires"),
		InitiatedBy: f.Str("by"),
	}
}
