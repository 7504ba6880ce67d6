package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/redishash"
)

var scriptAccrue = loadScript(5, "accrue")

// InterestDivisor turns balance × rate (basis points per year) into one
// day's interest: 365 days × 10,000 basis points. Remainders of this
// divisor are what an account carries from one day to the next.
const InterestDivisor = 365 * 10_000

// InterestState is what an account carries between accruals.
type InterestState struct {
	LastDay  int64  // ordinal of the last accrued day, 0 when never
	LastDate string // YYYY-MM-DD of that day
	Carry    int64  // remainder in 1/InterestDivisor minor units
}

// InterestStates returns the state of each account in one round trip.
func (l *Ledger) InterestStates(ctx context.Context, accounts []string) ([]InterestState, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for _, n := range accounts {
		c.Send("HMGET", interestKey(n), "last_day", "last_date", "carry")
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	out := make([]InterestState, len(accounts))
	for i := range accounts {
		v, err := redis.Strings(c.Receive())
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		lastDay, err1 := redishash.Int("ledger: "+interestKey(accounts[i])+" last_day", v[0])
		carry, err2 := redishash.Int("ledger: "+interestKey(accounts[i])+" carry", v[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out[i] = InterestState{LastDay: lastDay, LastDate: v[1], Carry: carry}
	}
	return out, nil
}

// Accrual asks for one account's interest for one day. Currency is the
// account's (it picks the interest-expense account that pays).
type Accrual struct {
	Account  string
	Currency string
	Day      bank.Day
}

// AccrualResult is what one accrual did.
type AccrualResult struct {
	Accrual
	Status  string // "ok" (accrued, Amount may be 0), "done" (already accrued), "closed"
	Amount  int64  // minor units posted
	Carry   int64  // remainder carried after this day
	Balance int64  // end-of-day balance the interest was computed on
	Err     error  // a business rule refused this accrual (the others still ran)
}

// AccrueInterest accrues each requested day, in the order given,
// pipelined on one connection (a batch of accounts costs one round trip).
// Each accrual is one atomic script: a day is accrued at most once per
// account, whatever runs it, and a day at or before the last accrued one
// is a no-op. Callers list an account's days in increasing order so that
// no day is skipped.
func (l *Ledger) AccrueInterest(ctx context.Context, reqs []Accrual) ([]AccrualResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	now := l.nowMs()
	// A day earns interest on its end-of-day balance, so it can only be
	// accrued once it is over: accruing early would pay on a partial
	// balance and mark the day done for good.
	for _, r := range reqs {
		if r.Day.End.UnixMilli() > now {
			return nil, bank.Errorf(bank.KindInvalid, "day_not_ended", "interest for %s can only be accrued after the day has ended", r.Day.Date)
		}
	}
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// EVALSHA in a pipeline needs the script cached first.
	if err := scriptAccrue.Load(c); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	for _, r := range reqs {
		if err := sendAccrual(c, r, now); err != nil {
			return nil, err
		}
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	out := make([]AccrualResult, len(reqs))
	for i, r := range reqs {
		if out[i], err = receiveAccrual(c, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sendAccrual pipelines one account's accrual script.
func sendAccrual(c redis.Conn, r Accrual, now int64) error {
	exp, err := SystemAccount(bank.PurposeInterestExpense, r.Currency)
	if err != nil {
		return err
	}
	if err := scriptAccrue.SendHash(c, accountKey(exp), accountKey(r.Account), journalKey(exp), journalKey(r.Account),
		interestKey(r.Account),
		r.Day.Ordinal, r.Day.End.UnixMilli(), now, "Interest "+r.Day.Date, bank.MaxBalance, r.Day.Date); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// receiveAccrual reads one account's result: a rule the script refused
// with is that account's Err, a transport error fails the whole batch.
func receiveAccrual(c redis.Conn, r Accrual) (AccrualResult, error) {
	out := AccrualResult{Accrual: r}
	vals, err := redis.Strings(c.Receive())
	if refused, ok := luascript.Refusal(err); ok {
		out.Err = refused
		return out, nil
	}
	if err != nil || len(vals) != 4 {
		return out, fmt.Errorf("ledger: accrual reply %v: %v", vals, err)
	}
	out.Status = vals[0]
	var errs [3]error
	out.Amount, errs[0] = redishash.Int("ledger: accrued amount", vals[1])
	out.Carry, errs[1] = redishash.Int("ledger: carry", vals[2])
	out.Balance, errs[2] = redishash.Int("ledger: balance", vals[3])
	return out, errors.Join(errs[:]...)
}
