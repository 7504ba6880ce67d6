package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
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
	keyRelayedPrefix = "bank:outbox:relayed:"
	relayTTL         = 24 * 3600 // a relay re-runs within seconds
	relayBatch       = 200
)

// RelayOutbox moves the events the posting scripts appended to the outbox
// (transfer.completed, hold.captured) to webhook-delivery jobs, then
// removes them from the outbox. Events are announced with the posting's
// time and their business key as id, so a second relay of the same event
// builds the same event; it returns how many events it relayed.
func (r *Runner) RelayOutbox(ctx context.Context) (int, error) {
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

func (r *Runner) relayOne(ctx context.Context, ev ledger.OutboxEvent) error {
	mark := keyRelayedPrefix + ev.Type + ":" + ev.ID
	c, err := r.l.Pool().GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	done, err := redis.Bool(c.Do("EXISTS", mark))
	if err != nil || done {
		return err
	}
	var accounts []string
	var data any
	switch ev.Type {
	case webhooks.TransferCompleted:
		t, err := r.l.Transfer(ctx, ev.ID)
		if errors.Is(err, bank.ErrTransferNotFound) {
			r.opt.Log.Warn("outbox event without its transfer; dropped", "transfer", ev.ID)
			return nil
		}
		if err != nil {
			return err
		}
		accounts, data = []string{t.From, t.To}, t
	case webhooks.HoldCaptured:
		h, err := r.l.Hold(ctx, ev.ID)
		if errors.Is(err, bank.ErrHoldNotFound) {
			r.opt.Log.Warn("outbox event without its hold; dropped", "hold", ev.ID)
			return nil
		}
		if err != nil {
			return err
		}
		accounts, data = []string{h.Account, h.Payee}, h
	default:
		r.opt.Log.Warn("unknown outbox event; dropped", "type", ev.Type, "id", ev.ID)
		return nil
	}
	sent, err := r.Publisher.publishToAccountsAt(ctx, r.l, ev.Type, ev.ID, accounts, data, ev.At)
	if err != nil || sent == 0 {
		return err // sent 0: nobody subscribed, nothing to repeat, no mark to keep
	}
	_, err = c.Do("SET", mark, 1, "EX", relayTTL)
	return err
}
