package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Publisher turns ledger events into webhook-delivery jobs, one per
// subscribed webhook. The outbox relay uses it for transfers and captures
// (recorded by the posting scripts themselves); the worker for statements
// and failed standing orders.
type Publisher struct {
	hooks *webhooks.Store
	enq   *work.Enqueuer
}

// NewPublisher returns a publisher enqueueing into namespace.
func NewPublisher(pool *redis.Pool, namespace string) *Publisher {
	if namespace == "" {
		namespace = Namespace
	}
	// The publisher only reads subscriptions: URL rules do not apply.
	return &Publisher{hooks: webhooks.NewStore(pool, webhooks.Options{}), enq: work.NewEnqueuer(namespace, pool)}
}

// Publish announces an event of type typ, identified by businessKey, to
// the webhooks of owners that subscribed to it.
func (p *Publisher) Publish(ctx context.Context, typ, businessKey string, owners []string, data any) error {
	_, err := p.publishAt(ctx, typ, businessKey, owners, data, time.Now())
	return err
}

// publishAt is Publish with the event's time given: the outbox relay uses
// the posting's time, so that relaying an event again builds the same body.
// It returns how many deliveries it enqueued.
func (p *Publisher) publishAt(ctx context.Context, typ, businessKey string, owners []string, data any, at time.Time) (int, error) {
	seen := map[string]bool{}
	n := 0
	var ev webhooks.Event
	var body []byte
	for _, owner := range owners {
		if owner == "" || seen[owner] {
			continue
		}
		seen[owner] = true
		hooks, err := p.hooks.Subscribed(ctx, owner, typ)
		if err != nil {
			return n, err
		}
		for _, h := range hooks {
			if body == nil {
				ev, body, err = webhooks.NewEvent(typ, businessKey, at, data)
				if err != nil {
					return n, err
				}
			}
			if _, err := p.enq.Enqueue(WebhookDelivery, map[string]any{
				"webhook": h.ID, "event_id": ev.ID, "type": typ, "body": string(body),
			}); err != nil {
				return n, fmt.Errorf("jobs: enqueue webhook delivery: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// PublishTransfer announces a completed transfer to the owners of both
// accounts.
func (p *Publisher) PublishTransfer(ctx context.Context, l *ledger.Ledger, t bank.Transfer) error {
	_, err := p.publishToAccountsAt(ctx, l, webhooks.TransferCompleted, t.ID, []string{t.From, t.To}, t, time.Now())
	return err
}

// publishToAccountsAt is publishAt to the owners of accounts (system
// accounts have none): both sides of a transfer or a captured hold.
func (p *Publisher) publishToAccountsAt(ctx context.Context, l *ledger.Ledger, typ, businessKey string, accounts []string, data any, at time.Time) (int, error) {
	accts, err := l.Accounts(ctx, accounts)
	if err != nil {
		return 0, err
	}
	var owners []string
	for _, a := range accts {
		owners = append(owners, a.Owner)
	}
	return p.publishAt(ctx, typ, businessKey, owners, data, at)
}
