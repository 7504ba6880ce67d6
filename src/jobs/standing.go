package jobs

import (
	"context"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/webhooks"
)

// RunStandingOrders executes every order due on or before day.
func (r *Runner) RunStandingOrders(ctx context.Context, day bank.Day) (int, error) {
	done := 0
	seen := map[string]bool{}
	for {
		ids, err := r.Standing.Due(ctx, day, 500)
		if err != nil {
			return done, err
		}
		progress := false
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id], progress = true, true
			res, err := r.Standing.Execute(ctx, id, day)
			if err != nil {
				return done, err
			}
			if len(res) == standing.MaxCatchUp {
				// Execute stops after MaxCatchUp dates, oldest first; the
				// next run (a minute later) continues from the next date.
				r.opt.Log.Warn("standing order catch-up backlog may remain", "order", id, "paid_up_to", res[len(res)-1].Run.Date)
				r.backlog(StandingOrders, 1)
			}
			for _, x := range res {
				done++
				if err := r.announceRun(ctx, x); err != nil {
					return done, err
				}
			}
		}
		if !progress {
			return done, nil
		}
	}
}

func (r *Runner) announceRun(ctx context.Context, x standing.Result) error {
	o := x.Order
	if x.Run.Status == standing.Failed {
		return r.Publisher.Publish(ctx, webhooks.StandingOrderFailed, o.ID+":"+x.Run.Date, []string{o.Owner},
			map[string]any{"standing_order_id": o.ID, "date": x.Run.Date, "code": x.Run.Code, "from": o.From,
				"to": o.To, "amount": o.Amount, "currency": o.Currency})
	}
	// An executed date's transfer.completed went to the outbox in the
	// posting's own script (PostOnce); the relay announces it.
	return nil
}
