package jobs

import (
	"context"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// MaxInterestCatchUp bounds how many days one run accrues per account, so
// a long outage does not turn into one unbounded burst. Days are never
// skipped: a run starts at the oldest day not yet accrued (a new account
// starts on the day it was opened) and the next run continues from there,
// because a day left out would be lost for good (the accrual script only
// moves an account's last accrued day forward).
const MaxInterestCatchUp = 62

// AccrualSummary counts what a batch did.
type AccrualSummary struct {
	Accounts, Days, Posted int
	Amount                 int64
	Refused                int
	// Behind counts accounts that still have days to accrue up to the
	// requested day after this run (more than MaxInterestCatchUp missed).
	Behind int
}

// AccrueInterest accrues interest for every savings account among numbers
// up to and including day, catching up missed days in order.
func (r *Runner) AccrueInterest(ctx context.Context, numbers []string, day bank.Day) (AccrualSummary, error) {
	var sum AccrualSummary
	savings, err := r.interestBearing(ctx, numbers)
	if err != nil {
		return sum, err
	}
	reqs, err := r.accrualsDue(ctx, savings, day, &sum)
	if err != nil {
		return sum, err
	}
	if err := r.postAccruals(ctx, reqs, &sum); err != nil {
		return sum, err
	}
	r.backlog(InterestAccrual, sum.Behind)
	return sum, nil
}

// interestBearing returns the accounts among numbers that earn interest:
// savings accounts with a rate, not closed.
func (r *Runner) interestBearing(ctx context.Context, numbers []string) ([]bank.Account, error) {
	accts, err := r.l.Accounts(ctx, numbers)
	if err != nil {
		return nil, err
	}
	var savings []bank.Account
	for _, a := range accts {
		if a.Type == bank.Savings && a.InterestRate > 0 && a.Status != bank.Closed {
			savings = append(savings, a)
		}
	}
	return savings, nil
}

// accrualsDue returns the days each of savings accrues in this run, oldest
// first, counting in sum the accounts with days to accrue and those that
// will still be behind day afterwards.
func (r *Runner) accrualsDue(ctx context.Context, savings []bank.Account, day bank.Day, sum *AccrualSummary) ([]ledger.Accrual, error) {
	nums := make([]string, len(savings))
	for i, a := range savings {
		nums[i] = a.Number
	}
	states, err := r.l.InterestStates(ctx, nums)
	if err != nil {
		return nil, err
	}
	var reqs []ledger.Accrual
	for i, a := range savings {
		start, end, ok := r.accrualDays(a, states[i], day)
		if !ok {
			continue
		}
		if end < day.Ordinal {
			sum.Behind++
			r.opt.Log.Warn("interest catch-up backlog remains", "account", a.Number,
				"from", bank.DayFromOrdinal(start, r.opt.Location).Date, "days_left", day.Ordinal-end)
		}
		sum.Accounts++
		for o := start; o <= end; o++ {
			reqs = append(reqs, ledger.Accrual{Account: a.Number, Currency: a.Currency, Day: bank.DayFromOrdinal(o, r.opt.Location)})
		}
	}
	return reqs, nil
}

// accrualDays returns the ordinals of the first and last day account a
// accrues in a run up to day: from the oldest day not yet accrued (a new
// account's first is the day it was opened), at most MaxInterestCatchUp
// days. ok is false when a has accrued day already.
func (r *Runner) accrualDays(a bank.Account, st ledger.InterestState, day bank.Day) (start, end int64, ok bool) {
	start = bank.NewDay(a.CreatedAt, r.opt.Location).Ordinal
	if st.LastDay > 0 {
		start = st.LastDay + 1
	}
	if start > day.Ordinal {
		return 0, 0, false
	}
	return start, min(day.Ordinal, start+MaxInterestCatchUp-1), true
}

// postAccruals posts reqs in pipelined chunks of AccrualChunk, Pace apart,
// and adds the results to sum.
func (r *Runner) postAccruals(ctx context.Context, reqs []ledger.Accrual, sum *AccrualSummary) error {
	chunk := r.opt.AccrualChunk
	for i := 0; i < len(reqs); i += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i > 0 && r.opt.Pace > 0 {
			time.Sleep(r.opt.Pace)
		}
		res, err := r.l.AccrueInterest(ctx, reqs[i:min(i+chunk, len(reqs))])
		if err != nil {
			return err
		}
		for _, x := range res {
			r.count(sum, x)
		}
	}
	return nil
}

// count adds one accrual result to sum; a refused day is logged.
func (r *Runner) count(sum *AccrualSummary, x ledger.AccrualResult) {
	sum.Days++
	if x.Err != nil {
		sum.Refused++
		r.opt.Log.Warn("interest refused", "account", x.Account, "date", x.Day.Date, "code", x.Err.Error())
		return
	}
	if x.Status == "ok" && x.Amount > 0 {
		sum.Posted++
		sum.Amount += x.Amount
	}
}
