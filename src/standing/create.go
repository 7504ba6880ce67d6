package standing

import (
	"context"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// Create validates and stores a new order for owner, whose account From
// must be. today is the current day: the first date may not be earlier.
// idem makes creation idempotent the way every money-moving request is
// (the ledger's record, the caller's request fingerprint): the same key
// and request return the same order (replayed true), a different request
// is a conflict. A zero idem creates without a key.
func (s *Store) Create(ctx context.Context, owner string, r Request, today time.Time, idem ledger.Idem) (Order, bool, error) {
	first, err := s.validate(r, today)
	if err != nil {
		return Order{}, false, err
	}
	if err := s.checkAccounts(ctx, owner, r); err != nil {
		return Order{}, false, err
	}
	id, replayed, err := s.store(ctx, owner, r, first, idem)
	if err != nil {
		return Order{}, false, err
	}
	o, err := s.Get(ctx, owner, id)
	return o, replayed, err
}

// validate checks the request's own fields and returns its first due day.
// Amount, currency and description follow the ledger's posting rules.
func (s *Store) validate(r Request, today time.Time) (bank.Day, error) {
	if err := ledger.ValidatePosting(ledger.Posting{Amount: r.Amount, Currency: r.Currency, Description: r.Description}); err != nil {
		return bank.Day{}, err
	}
	if r.Frequency != Daily && r.Frequency != Weekly && r.Frequency != Monthly {
		return bank.Day{}, invalid("invalid_frequency", "frequency must be daily, weekly or monthly")
	}
	first, err := s.validateDates(r, today)
	if err != nil {
		return bank.Day{}, err
	}
	if r.Count < 0 || r.Count > 10_000 {
		return bank.Day{}, invalid("invalid_count", "count must be between 1 and 10000 when given")
	}
	for _, n := range []string{r.From, r.To} {
		if err := bank.ValidateAccountNumber(n); err != nil {
			return bank.Day{}, err
		}
	}
	return first, nil
}

// validateDates checks that the first date is today or later and the end
// date, when given, not before it.
func (s *Store) validateDates(r Request, today time.Time) (bank.Day, error) {
	first, err := s.parseDate("first_date", r.FirstDate)
	if err != nil {
		return bank.Day{}, err
	}
	if first.Ordinal < bank.NewDay(today, s.loc).Ordinal {
		return bank.Day{}, invalid("invalid_date", "first_date must be today or later")
	}
	if r.EndDate == "" {
		return first, nil
	}
	end, err := s.parseDate("end_date", r.EndDate)
	if err != nil {
		return bank.Day{}, err
	}
	if end.Ordinal < first.Ordinal {
		return bank.Day{}, invalid("invalid_date", "end_date must not be before first_date")
	}
	return first, nil
}

// checkAccounts refuses, at creation, an order the payment script would
// refuse on every due date: another customer's account, a missing or
// system account, two equal accounts, another currency. The script checks
// the accounts again when it pays (their state may change meanwhile).
func (s *Store) checkAccounts(ctx context.Context, owner string, r Request) error {
	from, err := s.l.Account(ctx, r.From)
	if err != nil {
		return err
	}
	if from.Owner != owner {
		return bank.ErrAccountNotFound
	}
	to, err := s.l.Account(ctx, r.To)
	if err != nil {
		return err
	}
	switch {
	case r.From == r.To:
		return bank.ErrSameAccount
	case to.Type == bank.System || from.Type == bank.System:
		return bank.ErrSystemAccount
	case from.Currency != r.Currency || to.Currency != r.Currency:
		return bank.ErrCurrencyMismatch
	}
	return nil
}

func (s *Store) parseDate(field, v string) (bank.Day, error) {
	d, err := bank.ParseDay(v, s.loc)
	if err != nil {
		return bank.Day{}, invalid("invalid_date", "%s must be a date YYYY-MM-DD", field)
	}
	return d, nil
}
