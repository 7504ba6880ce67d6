package api

// Who may see or use which account, transfer and hold: the checks every
// handler shares.

import (
	"errors"
	"net/http"

	"github.com/kubebank/kubebank/src/bank"
)

// visibleAccount loads an account the caller may see. Another customer's
// account is "not found", exactly like a number that does not exist, so
// that probing numbers reveals nothing (BOLA).
func (s *Server) visibleAccount(r *http.Request, field, number string) (bank.Account, error) {
	if err := checkNumber(field, number); err != nil {
		return bank.Account{}, err
	}
	a, err := s.l.Account(r.Context(), number)
	if err != nil {
		return bank.Account{}, err
	}
	u := userOf(r)
	if !u.Role.Staff() && a.Owner != u.ID {
		return bank.Account{}, bank.ErrAccountNotFound
	}
	return a, nil
}

// ownAccount loads an account money may be moved out of: only its owner
// may, whatever the role. Staff see every account but do not spend
// customers' money (cash goes through the teller routes, which credit or
// debit teller cash, never another person's account); to a customer,
// another's account is "not found" as everywhere else.
func (s *Server) ownAccount(r *http.Request, field, number string) (bank.Account, error) {
	a, err := s.visibleAccount(r, field, number)
	if err != nil {
		return bank.Account{}, err
	}
	if a.Owner != userOf(r).ID {
		return bank.Account{}, bank.Errorf(bank.KindForbidden, "not_account_owner", "money can only be moved out of your own accounts")
	}
	return a, nil
}

// notOwnAccount refuses staff actions (cash, freeze, close) on an account
// the acting teller or admin owns: nobody handles their own money at the
// counter.
func notOwnAccount(r *http.Request, a bank.Account) error {
	if a.Owner == userOf(r).ID {
		return bank.Errorf(bank.KindForbidden, "own_account", "staff cannot perform teller or admin actions on their own accounts")
	}
	return nil
}

// receiver loads a receiving account and checks that it is a customer
// account: money reaches system accounts only through teller and job
// routes, never as a customer's transfer.
func (s *Server) receiver(r *http.Request, number string) (bank.Account, error) {
	a, err := s.l.Account(r.Context(), number)
	if errors.Is(err, bank.ErrAccountNotFound) {
		return bank.Account{}, bank.Errorf(bank.KindNotFound, "account_not_found", "the receiving account %s does not exist", number)
	}
	if err != nil {
		return bank.Account{}, err
	}
	if a.Type == bank.System {
		return bank.Account{}, bank.ErrSystemAccount
	}
	return a, nil
}

// owns reports whether the caller may see something touching these accounts.
func (s *Server) owns(r *http.Request, numbers ...string) (bool, error) {
	if userOf(r).Role.Staff() {
		return true, nil
	}
	return s.ownsAny(r, numbers...)
}

// ownsAny reports whether the caller owns one of the accounts, whatever
// their role.
func (s *Server) ownsAny(r *http.Request, numbers ...string) (bool, error) {
	u := userOf(r)
	accts, err := s.l.Accounts(r.Context(), numbers)
	if err != nil {
		return false, err
	}
	for _, a := range accts {
		if a.Owner == u.ID {
			return true, nil
		}
	}
	return false, nil
}
