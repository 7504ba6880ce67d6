package api

// Routes of /v1/accounts.

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// AccountView is an account as the API shows it: with the currency's
// minor-unit exponent so clients can format amounts without a table.
type AccountView struct {
	bank.Account
	Exponent int `json:"exponent"`
}

func view(a bank.Account) AccountView {
	c, _ := bank.LookupCurrency(a.Currency)
	return AccountView{Account: a, Exponent: c.Exponent}
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	accts, err := s.l.AccountsOf(r.Context(), userOf(r).ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]AccountView, 0, len(accts))
	for _, a := range accts {
		out = append(out, view(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
}

type openReq struct {
	Type           bank.AccountType `json:"type"`
	Currency       string           `json:"currency"`
	Name           string           `json:"name"`
	OverdraftLimit int64            `json:"overdraft_limit"`
	InterestRate   int64            `json:"interest_rate_bps"`
}

func (s *Server) openAccount(w http.ResponseWriter, r *http.Request) {
	var req openReq
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkText("name", req.Name, MaxName); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := bank.LookupCurrency(req.Currency); err != nil {
		s.fail(w, r, fieldErr("currency", err))
		return
	}
	// The caps apply to staff too: an account is always opened for its
	// caller, and staff must not grant themselves credit or interest.
	u := userOf(r)
	maxOverdraft, maxRate := s.cfg.CustomerMaxOverdraft, s.cfg.CustomerMaxRateBps
	if req.OverdraftLimit > maxOverdraft {
		s.fail(w, r, invalid("invalid_overdraft_limit", "overdraft_limit",
			"the overdraft limit can be at most "+strconv.FormatInt(maxOverdraft, 10)+" minor units"))
		return
	}
	if req.InterestRate > maxRate {
		s.fail(w, r, invalid("invalid_interest_rate", "interest_rate_bps",
			"the interest rate can be at most "+strconv.FormatInt(maxRate, 10)+" basis points"))
		return
	}
	a, err := s.l.Open(r.Context(), ledger.OpenRequest{Owner: u.ID, Name: req.Name, Type: req.Type, Currency: req.Currency,
		OverdraftLimit: req.OverdraftLimit, InterestRate: req.InterestRate})
	if err != nil {
		field := map[string]string{"invalid_account_type": "type", "invalid_overdraft_limit": "overdraft_limit", "invalid_interest_rate": "interest_rate_bps"}[bank.ErrorCode(err)]
		s.fail(w, r, fieldErr(field, err))
		return
	}
	w.Header().Set("Location", "/v1/accounts/"+a.Number)
	writeJSON(w, http.StatusCreated, view(a))
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(a))
}

func (s *Server) entries(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	eq := ledger.EntryQuery{Account: a.Number, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ledger.MaxPageSize {
			s.fail(w, r, invalid("invalid_limit", "limit", "limit must be an integer between 1 and "+strconv.Itoa(ledger.MaxPageSize)))
			return
		}
		eq.Limit = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &eq.From}, {"to", &eq.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.fail(w, r, invalid("invalid_time", p.name, p.name+" must be an RFC 3339 time such as 2026-01-31T00:00:00Z"))
				return
			}
			*p.dst = t
		}
	}
	if !eq.From.IsZero() && !eq.To.IsZero() && !eq.From.Before(eq.To) {
		s.fail(w, r, invalid("invalid_time", "to", "to must be after from"))
		return
	}
	entries, next, err := s.l.Entries(r.Context(), eq)
	if err != nil {
		s.fail(w, r, fieldErr(map[string]string{"invalid_cursor": "cursor", "invalid_limit": "limit", "invalid_time": "from"}[bank.ErrorCode(err)], err))
		return
	}
	if entries == nil {
		entries = []bank.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next_cursor": next})
}
