package ledger

// Opening accounts and changing overdraft limits, within each customer's
// exposure limits. The limits are checked in the Lua scripts (open.lua,
// set_overdraft.lua, with exposure.lua's owner_exposure), in the same
// step that writes, so no number of concurrent requests can pass them.

import (
	"context"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
)

// Limits bound what one customer (one owner id) can hold across all their
// accounts: a customer may open any number of checking accounts one by
// one, so a cap per account alone would let them add up overdrafts.
type Limits struct {
	// MaxAccounts is how many open (not closed) accounts an owner may
	// have; opening one more is refused with account_limit_reached.
	MaxAccounts int64
	// MaxTotalOverdraft bounds the sum of the overdraft limits of an
	// owner's open accounts in one currency, in that currency's minor
	// units; beyond it, overdraft_cap_exceeded.
	MaxTotalOverdraft int64
}

// DefaultLimits: ten accounts, and 1,000.00 of overdraft in total per
// currency (in a 2-decimal currency), what one account could have before.
var DefaultLimits = Limits{MaxAccounts: 10, MaxTotalOverdraft: 100_000}

// Validate checks that the limits allow at least one account.
func (lim Limits) Validate() error {
	if lim.MaxAccounts < 1 {
		return bank.Errorf(bank.KindInvalid, "invalid_limits", "the account limit must be at least 1")
	}
	if lim.MaxTotalOverdraft < 0 || lim.MaxTotalOverdraft > bank.MaxAmount {
		return bank.Errorf(bank.KindInvalid, "invalid_limits", "the total overdraft cap must be between 0 and %d minor units", bank.MaxAmount)
	}
	return nil
}

// OpenRequest describes a new customer account.
type OpenRequest struct {
	Owner          string
	Name           string
	Type           bank.AccountType
	Currency       string
	OverdraftLimit int64 // checking only, minor units, ≥ 0
	InterestRate   int64 // savings only, basis points per year
}

// MaxInterestRate bounds savings rates (basis points): 100%.
const MaxInterestRate = 10_000

// checkOverdraft checks an overdraft limit's range.
func checkOverdraft(limit int64) error {
	if limit < 0 || limit > bank.MaxAmount {
		return bank.Errorf(bank.KindInvalid, "invalid_overdraft_limit", "overdraft_limit must be between 0 and %d minor units", bank.MaxAmount)
	}
	return nil
}

// validate checks the request's own fields; the owner's limits are the
// script's.
func (r OpenRequest) validate() error {
	if _, err := bank.LookupCurrency(r.Currency); err != nil {
		return err
	}
	switch r.Type {
	case bank.Checking:
		if r.InterestRate != 0 {
			return bank.Errorf(bank.KindInvalid, "invalid_interest_rate", "only savings accounts earn interest")
		}
		if err := checkOverdraft(r.OverdraftLimit); err != nil {
			return err
		}
	case bank.Savings:
		if r.OverdraftLimit != 0 {
			return bank.Errorf(bank.KindInvalid, "invalid_overdraft_limit", "savings accounts cannot have an overdraft")
		}
		if r.InterestRate < 0 || r.InterestRate > MaxInterestRate {
			return bank.Errorf(bank.KindInvalid, "invalid_interest_rate", "interest_rate_bps must be between 0 and %d", MaxInterestRate)
		}
	default:
		return bank.Errorf(bank.KindInvalid, "invalid_account_type", "type must be \"checking\" or \"savings\"")
	}
	if r.Owner == "" {
		return bank.Errorf(bank.KindInvalid, "invalid_owner", "an account needs an owner")
	}
	return nil
}

// Open creates an account with a fresh account number, unless the owner
// already has l.Limits.MaxAccounts open accounts (account_limit_reached)
// or its overdraft limit would take the owner's total in the currency
// beyond l.Limits.MaxTotalOverdraft (overdraft_cap_exceeded). A refusal
// allocates no number.
func (l *Ledger) Open(ctx context.Context, r OpenRequest) (bank.Account, error) {
	if err := r.validate(); err != nil {
		return bank.Account{}, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Account{}, err
	}
	now := l.nowMs()
	_, n, err := decodeReply(scriptOpen.DoContext(ctx, c, ownerKey(r.Owner), keyspace.Accounts, keyspace.AccountSeq,
		keyspace.Account, r.Owner, r.Name, string(r.Type), r.Currency, r.OverdraftLimit, r.InterestRate, now,
		l.Limits.MaxAccounts, l.Limits.MaxTotalOverdraft))
	c.Close()
	if err != nil {
		return bank.Account{}, err
	}
	return l.Account(ctx, n)
}

// SetOverdraft changes a checking account's overdraft limit. Raising it
// is refused (overdraft_cap_exceeded) when the owner's other open
// accounts in the currency and the new limit together pass
// l.Limits.MaxTotalOverdraft; lowering it is always allowed. Savings
// (not_checking_account), system (system_account) and closed
// (account_closed) accounts are refused.
func (l *Ledger) SetOverdraft(ctx context.Context, number string, limit int64) (bank.Account, error) {
	if err := checkOverdraft(limit); err != nil {
		return bank.Account{}, err
	}
	a, err := l.Account(ctx, number)
	if err != nil {
		return bank.Account{}, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Account{}, err
	}
	_, _, err = decodeReply(scriptOverdraft.DoContext(ctx, c, accountKey(number), ownerKey(a.Owner),
		keyspace.Account, a.Owner, limit, l.Limits.MaxTotalOverdraft, l.nowMs(), audit.Arg(ctx)))
	c.Close()
	if err != nil {
		return bank.Account{}, err
	}
	return l.Account(ctx, number)
}
