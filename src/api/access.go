package api

// Who may see or use which account, transfer and hold: the checks every
// handler shares.

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
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

// notOwnAccount refuses staff actions (cash, freeze, close) on an account
// the acting teller or admin owns: nobody handles their own money at the
// counter.
func notOwnAccount(r *http.Request, a bank.Account) error {
	if a.Owner == userOf(r).ID {
		return ledger.ErrOwnAccount
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

// visible loads a transfer or a hold by the route's {id} for a caller
// who may see it (staff, or the owner of one of its parties' accounts).
// An id of the wrong shape and someone else's record are both notFound,
// so that probing ids reveals nothing, as with account numbers.
func visible[T any](s *Server, r *http.Request, ids *regexp.Regexp, notFound error,
	load func(context.Context, string) (T, error), parties func(T) []string) (T, error) {
	var none T
	id := chi.URLParam(r, "id")
	if !ids.MatchString(id) {
		return none, notFound
	}
	v, err := load(r.Context(), id)
	if err != nil {
		return none, err
	}
	ok, err := s.owns(r, parties(v)...)
	if err != nil {
		return none, err
	}
	if !ok {
		return none, notFound
	}
	return v, nil
}

// listOwn answers the caller's own records of a store that keeps them by
// owner (standing orders, webhooks), as a list under key.
func listOwn[T any](w http.ResponseWriter, r *http.Request, key string, list func(context.Context, string) ([]T, error)) error {
	items, err := list(r.Context(), userOf(r).ID)
	return reply(w, http.StatusOK, map[string]any{key: items}, err)
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
