package standing

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// testHook, when set by a test, runs before each write of Execute
// ("pay" before a date's payment, "complete" before ending the order),
// so that tests can put a cancel exactly where a real one could land.
var testHook func(stage, id string)

// DueDate returns the n-th (0-based) due date of an order starting on
// first. Monthly orders keep the day of month of the first date, clamped
// to the month's last day (31 Jan, 28 Feb, 31 Mar, ...).
func DueDate(first time.Time, freq Frequency, n int) time.Time {
	switch freq {
	case Daily:
		return first.AddDate(0, 0, n)
	case Weekly:
		return first.AddDate(0, 0, 7*n)
	}
	y, m, d := first.Date()
	t := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, first.Location())
	last := t.AddDate(0, 1, -1).Day()
	return time.Date(t.Year(), t.Month(), min(d, last), 0, 0, 0, 0, first.Location())
}

// Due lists ids of active orders with a due date on or before day.
func (s *Store) Due(ctx context.Context, day bank.Day, limit int) ([]string, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ids, err := redis.Strings(c.Do("ZRANGE", keyDue, "-inf", day.Ordinal, "BYSCORE", "LIMIT", 0, limit))
	if err != nil {
		return nil, fmt.Errorf("standing: %w", err)
	}
	return ids, nil
}

// Result is one executed or failed due date.
type Result struct {
	Order Order
	Run   Run
}

// Execute pays every due date of order id up to and including day, in
// date order, and advances the order. Each date goes through PostOnce, so
// running Execute twice or concurrently pays each date once.
func (s *Store) Execute(ctx context.Context, id string, day bank.Day) ([]Result, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	o, n, err := s.load(c, id)
	if err != nil {
		return nil, err
	}
	if o.Status != Active {
		// A cancel racing a run may have left the order in the due index.
		_, err := c.Do("ZREM", keyDue, id)
		return nil, err
	}
	sc, err := s.scheduleOf(o)
	if err != nil {
		return nil, err
	}
	var out []Result
	for i := 0; i < MaxCatchUp; i++ {
		if sc.finished(n) {
			return out, s.complete(ctx, c, id)
		}
		due := sc.due(n)
		if due.Ordinal > day.Ordinal {
			break
		}
		run, settled, err := s.pay(ctx, o, due)
		if err != nil || !settled {
			return out, err
		}
		out = append(out, Result{Order: o, Run: run})
		n++
		if active, err := s.advance(ctx, c, id, n, sc.due(n)); err != nil || !active {
			return out, err // !active: a cancel between two dates stops the order
		}
	}
	return out, nil
}

// schedule is an order's dates, parsed once per run.
type schedule struct {
	first  time.Time
	end    bank.Day
	hasEnd bool
	freq   Frequency
	count  int
	loc    *time.Location
}

func (s *Store) scheduleOf(o Order) (schedule, error) {
	first, err := time.ParseInLocation("2006-01-02", o.FirstDate, s.loc)
	if err != nil {
		return schedule{}, fmt.Errorf("standing: order %s: bad first date %q", o.ID, o.FirstDate)
	}
	sc := schedule{first: first, freq: o.Frequency, count: o.Count, loc: s.loc, hasEnd: o.EndDate != ""}
	if sc.hasEnd {
		if sc.end, err = bank.ParseDay(o.EndDate, s.loc); err != nil {
			return schedule{}, err
		}
	}
	return sc, nil
}

// due is the n-th (0-based) due day.
func (sc schedule) due(n int) bank.Day { return bank.NewDay(DueDate(sc.first, sc.freq, n), sc.loc) }

// finished reports whether an order that has settled n dates has none left.
func (sc schedule) finished(n int) bool {
	return (sc.count > 0 && n >= sc.count) || (sc.hasEnd && sc.due(n).Ordinal > sc.end.Ordinal)
}

// complete ends an order with no dates left.
func (s *Store) complete(ctx context.Context, c redis.Conn, id string) error {
	if testHook != nil {
		testHook("complete", id)
	}
	if _, err := completeScript.DoContext(ctx, c, orderKey(id), keyDue, id); err != nil {
		return fmt.Errorf("standing: %w", err)
	}
	return nil
}

// pay settles one due date: paid, or failed with the refusal's code. settled
// is false when the order was cancelled (or completed by a concurrent
// run) meanwhile, and nothing was posted or recorded.
func (s *Store) pay(ctx context.Context, o Order, due bank.Day) (_ Run, settled bool, _ error) {
	desc := o.Description
	if desc == "" {
		desc = "Standing order " + o.ID
	}
	if testHook != nil {
		testHook("pay", o.ID)
	}
	// The status loaded above may be stale by now: the script checks
	// that the order is still active atomically with the payment.
	oc, err := s.l.PostOnceIf(ctx, ledger.Posting{From: o.From, To: o.To, Amount: o.Amount, Currency: o.Currency,
		Kind: bank.PostingStandingOrder, Description: desc, InitiatedBy: o.Owner, Touch: ledger.TouchFrom},
		runsKey(o.ID), due.Date, ledger.Guard{Key: orderKey(o.ID), Field: "status", Value: string(Active)})
	if err != nil || oc.Guarded {
		return Run{}, false, err
	}
	if !oc.Executed {
		return Run{Date: due.Date, Status: Failed, Code: oc.Code}, true, nil
	}
	return Run{Date: due.Date, Status: Executed, TransferID: oc.TransferID}, true, nil
}

// advance records that n dates are settled and next is the next due day;
// it reports whether the order is still active.
func (s *Store) advance(ctx context.Context, c redis.Conn, id string, n int, next bank.Day) (bool, error) {
	active, err := redis.Bool(advanceScript.DoContext(ctx, c, orderKey(id), keyDue, n, next.Date, next.Ordinal, id))
	if err != nil {
		return false, fmt.Errorf("standing: %w", err)
	}
	return active, nil
}
