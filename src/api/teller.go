package api

// Routes of /v1/teller: cash at the counter and the customer search.

import (
	"errors"
	"net/http"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

type cashReq struct {
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

func (s *Server) tellerDeposit(w http.ResponseWriter, r *http.Request) {
	s.cash(w, r, bank.KindDeposit)
}

func (s *Server) tellerWithdrawal(w http.ResponseWriter, r *http.Request) {
	s.cash(w, r, bank.KindWithdrawal)
}

func (s *Server) cash(w http.ResponseWriter, r *http.Request, kind string) {
	moveMoney(s, w, r, kind, http.StatusCreated, transferLocation, func(req cashReq, idem ledger.Idem) (bank.Transfer, bool, error) {
		if err := checkNumber("account", req.Account); err != nil {
			return bank.Transfer{}, false, err
		}
		if err := checkMoney(req.Amount, req.Currency); err != nil {
			return bank.Transfer{}, false, err
		}
		if err := checkText("description", req.Description, MaxDescription); err != nil {
			return bank.Transfer{}, false, err
		}
		a, err := s.receiver(r, req.Account)
		if err != nil {
			return bank.Transfer{}, false, err
		}
		if err := notOwnAccount(r, a); err != nil {
			return bank.Transfer{}, false, err
		}
		by := userOf(r).ID
		if kind == bank.KindDeposit {
			return s.l.Deposit(r.Context(), req.Account, req.Amount, req.Currency, req.Description, by, idem)
		}
		return s.l.Withdraw(r.Context(), req.Account, req.Amount, req.Currency, req.Description, by, idem)
	})
}

type customerView struct {
	User     bank.User     `json:"user"`
	Accounts []AccountView `json:"accounts"`
}

func (s *Server) searchCustomers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if q == "" || len(q) > 32 {
		s.fail(w, r, invalid("invalid_query", "q", "q must be a username prefix or an account number (1-32 characters)"))
		return
	}
	var users []bank.User
	if len(q) == 10 && bank.ValidateAccountNumber(q) == nil {
		a, err := s.l.Account(r.Context(), q)
		if err == nil && a.Owner != "" {
			if u, err := s.a.User(r.Context(), a.Owner); err == nil {
				users = append(users, u)
			}
		} else if err != nil && !errors.Is(err, bank.ErrAccountNotFound) {
			s.fail(w, r, err)
			return
		}
	} else {
		var err error
		if users, err = s.a.SearchUsers(r.Context(), q, 20); err != nil {
			s.fail(w, r, fieldErr("q", err))
			return
		}
	}
	out := make([]customerView, 0, len(users))
	for _, u := range users {
		if u.Role != bank.Customer { // staff are not customers, even when their names match
			continue
		}
		accts, err := s.l.AccountsOf(r.Context(), u.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cv := customerView{User: u, Accounts: make([]AccountView, 0, len(accts))}
		for _, a := range accts {
			cv.Accounts = append(cv.Accounts, view(a))
		}
		out = append(out, cv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"customers": out})
}
