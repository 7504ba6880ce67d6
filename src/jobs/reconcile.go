package jobs

import (
	"context"

	"github.com/kubebank/kubebank/src/ledger"
)

// Reconcile checks the ledger's invariants and stores the result for the
// admin API and the metrics.
func (r *Runner) Reconcile(ctx context.Context) (ledger.Report, error) {
	rep, err := r.l.Reconcile(ctx)
	if err != nil {
		return rep, err
	}
	if err := r.l.SaveReport(ctx, rep); err != nil {
		return rep, err
	}
	if !rep.Balanced() {
		r.opt.Log.Error("ledger does not balance", "sums", rep.Sums, "mismatches", len(rep.Mismatches), "held_mismatches", len(rep.HeldMismatches))
	} else {
		r.opt.Log.Info("ledger balances", "accounts", rep.Accounts, "entries", rep.Entries)
	}
	return rep, nil
}
