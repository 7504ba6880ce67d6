// Package delivery gets the bank's events to its customers' webhooks: the
// Publisher turns an event into one webhook-delivery job per subscribed
// webhook (which the jobs' handler runs with the Deliverer NewDeliverer
// builds), and the Relay moves the events the posting scripts wrote to the
// ledger's outbox to the Publisher.
//
// Every step is idempotent by the event's business key: the event id is
// derived from it, and the deliverer's per-webhook mark keeps a receiver
// from getting the same event twice.
package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/gocraft/work"

	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/webhooks"
)

// deliveryTimeout bounds one delivery attempt (connect to response).
const deliveryTimeout = 10 * time.Second

// Publisher turns events into webhook-delivery jobs, one per subscribed
// webhook. The Relay uses it for transfers and captures (recorded by the
// posting scripts themselves); the job handlers for statements and failed
// standing orders.
type Publisher struct {
	hooks *webhooks.Store
	enq   *work.Enqueuer
}

// NewPublisher returns a publisher that reads subscriptions from hooks
// and enqueues delivery jobs with enq (the jobs namespace).
func NewPublisher(hooks *webhooks.Store, enq *work.Enqueuer) *Publisher {
	return &Publisher{hooks: hooks, enq: enq}
}

// Publish announces an event of type typ, identified by businessKey, to
// the webhooks of owners that subscribed to it.
func (p *Publisher) Publish(ctx context.Context, typ, businessKey string, owners []string, data any) error {
	_, err := p.publishAt(ctx, typ, businessKey, owners, data, time.Now())
	return err
}

// publishAt is Publish with the event's time given: the Relay uses the
// posting's time, so that relaying an event again builds the same body.
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
			if err := p.enqueue(h.ID, ev, body); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// enqueue adds the delivery job of event ev (encoded as body) to webhook
// hookID.
func (p *Publisher) enqueue(hookID string, ev webhooks.Event, body []byte) error {
	_, err := p.enq.Enqueue(jobs.WebhookDelivery, jobs.DeliveryArgs(hookID, ev.ID, ev.Type, body))
	if err != nil {
		return fmt.Errorf("jobs: enqueue webhook delivery: %w", err)
	}
	return nil
}

// NewDeliverer returns the deliverer of the webhook-delivery jobs
// (jobs.Deps.Deliverer) for the webhooks in hooks. opt must be the Options hooks was made with: the
// client enforces them again at dial time.
func NewDeliverer(hooks *webhooks.Store, opt webhooks.Options) *webhooks.Deliverer {
	return &webhooks.Deliverer{Store: hooks, Client: webhooks.NewClient(opt, deliveryTimeout), Now: time.Now}
}
