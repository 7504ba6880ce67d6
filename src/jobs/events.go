package jobs

import "context"

// Publisher announces an event of type typ, identified by businessKey, to
// the webhooks of owners that subscribed to it (delivery.Publisher): one
// webhook-delivery job each.
type Publisher interface {
	Publish(ctx context.Context, typ, businessKey string, owners []string, data any) error
}

// Relay moves the events the posting scripts wrote to the ledger's outbox
// to webhook-delivery jobs and returns how many it moved (delivery.Relay).
type Relay interface {
	RelayOutbox(ctx context.Context) (int, error)
}

// RelayOutbox runs the outbox relay here.
func (r *Runner) RelayOutbox(ctx context.Context) (int, error) { return r.relay.RelayOutbox(ctx) }

// DeliveryArgs are the arguments of the webhook-delivery job of the event
// eventID of type typ, encoded as body, to webhook hookID;
// deliverWebhook reads them.
func DeliveryArgs(hookID, eventID, typ string, body []byte) map[string]any {
	return map[string]any{"webhook": hookID, "event_id": eventID, "type": typ, "body": string(body)}
}

// deliverWebhook runs a webhook-delivery job.
func deliverWebhook(r *Runner, ctx context.Context, a jobArgs) error {
	return r.deliver.Deliver(ctx, a.str("webhook"), a.str("event_id"), a.str("type"), []byte(a.str("body")))
}
