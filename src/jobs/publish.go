package jobs

import (
	"context"
	"fmt"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Publisher turns ledger events into webhook-delivery jobs, one per
// subscribed webhook. The API uses it after transfers and captures; the
// worker after standing orders and statements.
type Publisher struct {
	hooks *webhooks.Store
	enq   *work.Enqueuer
}

// NewPublisher returns a publisher enqueueing into namespace.
func NewPublisher(pool *redis.Pool, namespace string) *Publisher {
	if namespace == "" {
		namespace = Namespace
	}
	return &Publisher{hooks: webhooks.NewStore(pool), enq: work.NewEnqueuer(namespace, pool)}
}

// Publish announces an event of type typ, identified by businessKey, to
// the webhooks of owners that subscribed to it.
func (p *Publisher) Publish(ctx context.Context, typ, businessKey string, owners []string, data any) error {
	seen := map[string]bool{}
	var ev webhooks.Event
	var body []byte
	for _, owner := range owners {
		if owner == "" || seen[owner] {
			continue
		}
		seen[owner] = true
		hooks, err := p.hooks.Subscribed(ctx, owner, typ)
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if body == nil {
				ev, body, err = webhooks.NewEvent(typ, businessKey, timeNow(), data)
				if err != nil {
					return err
				}
			}
			if _, err := p.enq.Enqueue(WebhookDelivery, map[string]any{
				"webhook": h.ID, "event_id": ev.ID, "type": typ, "body": string(body),
			}); err != nil {
				return fmt.Errorf("jobs: enqueue webhook delivery: %w", err)
			}
		}
	}
	return nil
}

// PublishTransfer announces a completed transfer to the owners of both
// accounts (system accounts have none).
func (p *Publisher) PublishTransfer(ctx context.Context, l *ledger.Ledger, t bank.Transfer) error {
	accts, err := l.Accounts(ctx, []string{t.From, t.To})
	if err != nil {
		return err
	}
	var owners []string
	for _, a := range accts {
		owners = append(owners, a.Owner)
	}
	return p.Publish(ctx, webhooks.TransferCompleted, t.ID, owners, t)
}

// PublishCapture announces a captured hold to both sides' owners.
func (p *Publisher) PublishCapture(ctx context.Context, l *ledger.Ledger, h bank.Hold) error {
	accts, err := l.Accounts(ctx, []string{h.Account, h.Payee})
	if err != nil {
		return err
	}
	var owners []string
	for _, a := range accts {
		owners = append(owners, a.Owner)
	}
	return p.Publish(ctx, webhooks.HoldCaptured, h.ID, owners, h)
}
