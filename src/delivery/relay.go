package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/webhooks"
)

// keyRelayedPrefix marks an outbox event for which webhook deliveries were
// enqueued ("bank:outbox:relayed:<type>:<id>"), kept for relayTTL: a relay
// that died after enqueueing but before acking finds the mark and only
// acks. Without the mark (death between enqueueing and marking) the
// deliveries are enqueued again and the deliverer's per-webhook "delivered"
// mark keeps a receiver from getting the event twice.
const (
	keyRelayedPrefix = keyspace.OutboxRelayed
	relayTTL         = 24 * 3600 // a relay re-runs within seconds
	relayBatch       = 200
)

// Relay publishes the events of the ledger's outbox.
type Relay struct {
	pool *redis.Pool // the relayed marks, next to the ledger
	l    *ledger.Ledger
	pub  *Publisher
	log  *slog.Logger
}

// NewRelay returns a relay of l's outbox to pub, keeping its marks on
// pool (the ledger's Redis). A nil log is slog.Default().
func NewRelay(pool *redis.Pool, l *ledger.Ledger, pub *Publisher, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{pool: pool, l: l, pub: pub, log: log}
}

// RelayOutbox moves the events the posting scripts appended to the outbox
// (transfer.completed, transfer.reversed, hold.captured) to webhook-delivery jobs, then
// removes them from the outbox. Events are announced with the posting's
// time and their business key as id, so a second relay of the same event
// builds the same event; it returns how many events it relayed.
func (r *Relay) RelayOutbox(ctx context.Context) (int, error) {
	n := 0
	for {
		evs, err := r.l.OutboxEvents(ctx, relayBatch)
		if err != nil || len(evs) == 0 {
			return n, err
		}
		for _, ev := range evs {
			if err := r.relayOne(ctx, ev); err != nil {
				return n, fmt.Errorf("jobs: relay %s %s: %w", ev.Type, ev.ID, err)
			}
			// Acked one by one: a relay dying here leaves only unsent
			// (or marked) events behind.
			if err := r.l.AckOutbox(ctx, ev.StreamID); err != nil {
				return n, err
			}
			n++
		}
		if len(evs) < relayBatch {
			return n, nil
		}
	}
}

// relayOne publishes ev unless its relayed mark says it was, and marks it.
func (r *Relay) relayOne(ctx context.Context, ev ledger.OutboxEvent) error {
	mark := keyRelayedPrefix + ev.Type + ":" + ev.ID
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	done, err := redis.Bool(c.Do("EXISTS", mark))
	if err != nil || done {
		return err
	}
	accounts, data, err := r.subject(ctx, ev)
	if err != nil || accounts == nil {
		return err // no accounts: the event was dropped
	}
	owners, err := r.owners(ctx, accounts)
	if err != nil {
		return err
	}
	sent, err := r.pub.publishAt(ctx, ev.Type, ev.ID, owners, data, ev.At)
	if err != nil || sent == 0 {
		return err // sent 0: nobody subscribed, nothing to repeat, no mark to keep
	}
	_, err = c.Do("SET", mark, 1, "EX", relayTTL)
	return err
}

// subject returns what ev is about (the transfer or the hold) and the
// accounts whose owners hear of it. Nil accounts mean drop the event: its
// type is unknown, or what it names is gone.
func (r *Relay) subject(ctx context.Context, ev ledger.OutboxEvent) (accounts []string, data any, err error) {
	switch ev.Type {
	case webhooks.TransferCompleted, webhooks.TransferReversed: // a reversal's id is its posting's
		t, err := r.l.Transfer(ctx, ev.ID)
		return r.found(err, bank.ErrTransferNotFound, "transfer", ev.ID, t, t.From, t.To)
	case webhooks.HoldCaptured:
		h, err := r.l.Hold(ctx, ev.ID)
		return r.found(err, bank.ErrHoldNotFound, "hold", ev.ID, h, h.Account, h.Payee)
	}
	r.log.Warn("unknown outbox event; dropped", "type", ev.Type, "id", ev.ID)
	return nil, nil, nil
}

// found is subject's answer for the transfer or hold (what) id that was
// read with err: dropped with a warning when it is gone (gone), else its
// data and accounts.
func (r *Relay) found(err, gone error, what, id string, data any, accounts ...string) ([]string, any, error) {
	if errors.Is(err, gone) {
		r.log.Warn("outbox event without its "+what+"; dropped", what, id)
		return nil, nil, nil
	}
	return accounts, data, err
}

// owners returns the owners of accounts (system accounts have none).
func (r *Relay) owners(ctx context.Context, accounts []string) ([]string, error) {
	accts, err := r.l.Accounts(ctx, accounts)
	if err != nil {
		return nil, err
	}
	var owners []string
	for _, a := range accts {
		owners = append(owners, a.Owner)
	}
	return owners, nil
}
