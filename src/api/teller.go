package api

// Routes of /v1/teller: cash at the counter and the customer search.

import (
	"errors"
	"net/http"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

type cashReq struct {
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

func (req cashReq) validate() error {
	return firstError(checkNumber("account", req.Account), checkMoney(req.Amount, req.Currency),
		checkText("description", req.Description, MaxDescription))
}

func (s *Server) tellerDeposit(w http.ResponseWriter, r *http.Request) error {
	return s.cash(w, r, bank.PostingDeposit)
}

func (s *Server) tellerWithdrawal(w http.ResponseWriter, r *http.Request) error {
	return s.cash(w, r, bank.PostingWithdrawal)
}

// cash is one Redis round trip on the way a teller's request succeeds
// (and on the refusals its script finds: role, account, funds...), like
// transfer: the ledger's script checks the token, the role, the account
// and that it is not the teller's own, posts and writes the audit entry
// in one step (oneWrite).
func (s *Server) cash(w http.ResponseWriter, r *http.Request, kind bank.PostingKind) error {
	action := auditActions[route(r)]
	return oneWrite(s, w, r, string(kind), http.StatusCreated, transferLocation, func(who ledger.Caller, req cashReq, idem ledger.Idem) (bank.Transfer, bool, error) {
		t, replayed, err := s.l.CashAs(r.Context(), who, action, ledger.Cash{Kind: kind, Account: req.Account,
			Amount: req.Amount, Currency: req.Currency, Description: req.Description, Idem: idem})
		return t, replayed, err
	}, func(r *http.Request, req cashReq) { auditAbout(r, req.Account, req.Account) })
}

type customerView struct {
	User     bank.User     `json:"user"`
	Accounts []AccountView `json:"accounts"`
}

func (s *Server) searchCustomers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if q == "" || len(q) > 32 {
		return invalid("invalid_query", "q", "q must be a username prefix or an account number (1-32 characters)")
	}
	users, err := s.matchingUsers(r, q)
	if err != nil {
		return err
	}
	out := make([]customerView, 0, len(users))
	for _, u := range users {
		if u.Role != bank.Customer { // staff are not customers, even when their names match
			continue
		}
		accts, err := s.l.AccountsOf(r.Context(), u.ID)
		if err != nil {
			return err
		}
		out = append(out, customerView{User: u, Accounts: views(accts)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"customers": out})
	return nil
}

// matchingUsers finds the users a teller's query names: the owner of the
// account, when q is a valid account number, else the users whose names
// start with q.
func (s *Server) matchingUsers(r *http.Request, q string) ([]bank.User, error) {
	if len(q) != 10 || bank.ValidateAccountNumber(q) != nil {
		users, err := s.a.SearchUsers(r.Context(), q, 20)
		return users, fieldErr("q", err)
	}
	a, err := s.l.Account(r.Context(), q)
	if errors.Is(err, bank.ErrAccountNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if a.Owner == "" {
		return nil, nil
	}
	// An owner who cannot be read is left out, like a number without one.
	u, err := s.a.User(r.Context(), a.Owner)
	if err != nil {
		return nil, nil
	}
	return []bank.User{u}, nil
}

// till answers what the caller did at the till, by default today (from
// midnight UTC until now): cash in and out per currency, and the accounts
// served, for the teller console.
func (s *Server) till(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := queryTime(q, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(q, "to")
	if err != nil {
		return err
	}
	now := s.l.Now().UTC()
	if from.IsZero() {
		from = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = now.Add(time.Millisecond) // to is exclusive: include this instant
	}
	if !to.After(from) {
		return invalid("invalid_time", "to", "to must be after from")
	}
	// The report reads every teller-cash journal over the range: bounded,
	// so that one request cannot scan the bank's whole history.
	if to.Sub(from) > maxTillRange {
		return invalid("invalid_time", "from", "the range may span at most 31 days")
	}
	t, err := s.l.TillOf(r.Context(), userOf(r).ID, from, to)
	return reply(w, http.StatusOK, tillView{From: from, To: to, Till: t}, err)
}

const maxTillRange = 31 * 24 * time.Hour

type tillView struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	ledger.Till
}
