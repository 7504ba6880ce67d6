package jobs

import (
	"context"

	"github.com/kubebank/kubebank/src/bank"
)

// SweepDormant flags active customer accounts among numbers with no
// customer activity in the DormantAfter before the end of day.
func (r *Runner) SweepDormant(ctx context.Context, numbers []string, day bank.Day) (int, error) {
	cutoff := day.End.Add(-r.opt.DormantAfter)
	accts, err := r.l.Accounts(ctx, numbers)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range accts {
		if a.Type == bank.System || a.Status != bank.Active || !a.LastActivity.Before(cutoff) {
			continue
		}
		// MarkDormant re-checks inside its script: activity racing the
		// sweep keeps the account active.
		ok, err := r.l.MarkDormant(ctx, a.Number, cutoff)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}
