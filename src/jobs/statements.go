package jobs

import (
	"context"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// IssueStatements builds and stores month's statement for each customer
// account among numbers that existed before the month ended.
func (r *Runner) IssueStatements(ctx context.Context, numbers []string, month string) (int, error) {
	start, err := statements.ParseMonth(month, r.opt.Location)
	if err != nil {
		return 0, err
	}
	end := start.AddDate(0, 1, 0)
	accts, err := r.l.Accounts(ctx, numbers)
	if err != nil {
		return 0, err
	}
	issued := 0
	for _, a := range accts {
		if a.Type == bank.System || !a.CreatedAt.Before(end) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return issued, err
		}
		st, err := statements.Build(ctx, r.l, a.Number, month, r.opt.Location, r.l.Now())
		if err != nil {
			return issued, err
		}
		created, err := r.Statements.Save(ctx, st)
		if err != nil {
			return issued, err
		}
		if created {
			issued++
		}
		// Announced on every run: the event id is the business key, and a
		// delivery already made is not repeated.
		if err := r.Publisher.Publish(ctx, webhooks.StatementReady, a.Number+":"+month, []string{a.Owner}, st.Summary()); err != nil {
			return issued, err
		}
	}
	return issued, nil
}
