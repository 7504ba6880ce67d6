package api

// Routes of /v1/accounts.

import (
	"net/http"
	"net/url"
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

// views shows accounts as the API does; never nil, so an empty list is [].
func views(accts []bank.Account) []AccountView {
	out := make([]AccountView, 0, len(accts))
	for _, a := range accts {
		out = append(out, view(a))
	}
	return out
}

// pathAccount is the account named in the route's {number}, if the
// caller may see it.
func (s *Server) pathAccount(r *http.Request) (bank.Account, error) {
	return s.visibleAccount(r, "number", chi.URLParam(r, "number"))
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	accts, err := s.l.AccountsOf(r.Context(), userOf(r).ID)
	return reply(w, http.StatusOK, map[string]any{"accounts": views(accts)}, err)
}

type openReq struct {
	Type           bank.AccountType `json:"type"`
	Currency       string           `json:"currency"`
	Name           string           `json:"name"`
	OverdraftLimit int64            `json:"overdraft_limit"`
	InterestRate   int64            `json:"interest_rate_bps"`
}

// validate checks the fields the ledger does not: the name, the
// currency, and the caller's caps on credit and interest.
func (req openReq) validate(maxOverdraft, maxRate int64) error {
	if err := checkText("name", req.Name, MaxName); err != nil {
		return err
	}
	if _, err := bank.LookupCurrency(req.Currency); err != nil {
		return fieldErr("currency", err)
	}
	if req.OverdraftLimit > maxOverdraft {
		return invalid("invalid_overdraft_limit", "overdraft_limit",
			"the overdraft limit can be at most "+strconv.FormatInt(maxOverdraft, 10)+" minor units")
	}
	if req.InterestRate > maxRate {
		return invalid("invalid_interest_rate", "interest_rate_bps",
			"the interest rate can be at most "+strconv.FormatInt(maxRate, 10)+" basis points")
	}
	return nil
}

func (s *Server) openAccount(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[openReq](s, w, r)
	if err != nil {
		return err
	}
	// The caps apply to staff too: an account is always opened for its
	// caller, and staff must not grant themselves credit or interest.
	if err := req.validate(s.cfg.CustomerMaxOverdraft, s.cfg.CustomerMaxRateBps); err != nil {
		return err
	}
	a, err := s.l.Open(r.Context(), ledger.OpenRequest{Owner: userOf(r).ID, Name: req.Name, Type: req.Type, Currency: req.Currency,
		OverdraftLimit: req.OverdraftLimit, InterestRate: req.InterestRate})
	if err != nil {
		field := map[string]string{"invalid_account_type": "type", "invalid_overdraft_limit": "overdraft_limit", "invalid_interest_rate": "interest_rate_bps"}[bank.ErrorCode(err)]
		return fieldErr(field, err)
	}
	w.Header().Set("Location", "/v1/accounts/"+a.Number)
	writeJSON(w, http.StatusCreated, view(a))
	return nil
}

// getAccount, entries and balanceAt are one Redis round trip each: the
// ledger's script checks the token, the role and who may see the account
// (visibleAccount's rule) in the step that reads it (onetrip.go); bad
// input is refused by the *Checked handlers behind the authenticate
// group's chain, in the order it always was: token, role, account, input.
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	return s.oneRead(w, r, func(who ledger.Caller) error {
		number := chi.URLParam(r, "number")
		if err := checkNumber("number", number); err != nil {
			return err
		}
		a, err := s.l.AccountAs(r.Context(), who, number)
		return reply(w, http.StatusOK, view(a), err)
	}, s.getAccountChecked)
}

func (s *Server) getAccountChecked(w http.ResponseWriter, r *http.Request) error {
	a, err := s.pathAccount(r)
	return reply(w, http.StatusOK, view(a), err)
}

func (s *Server) entries(w http.ResponseWriter, r *http.Request) error {
	return s.oneRead(w, r, func(who ledger.Caller) error {
		number := chi.URLParam(r, "number")
		if err := checkNumber("number", number); err != nil {
			return err
		}
		eq, err := entryQuery(r, number)
		if err != nil {
			return err
		}
		_, entries, next, err := s.l.EntriesAs(r.Context(), who, eq)
		return writeEntries(w, entries, next, err)
	}, s.entriesChecked)
}

func (s *Server) entriesChecked(w http.ResponseWriter, r *http.Request) error {
	a, err := s.pathAccount(r)
	if err != nil {
		return err
	}
	eq, err := entryQuery(r, a.Number)
	if err != nil {
		return err
	}
	entries, next, err := s.l.Entries(r.Context(), eq)
	return writeEntries(w, entries, next, err)
}

// writeEntries answers a page of history, or the ledger's refusal of the
// query, naming its field.
func writeEntries(w http.ResponseWriter, entries []bank.Entry, next string, err error) error {
	if err != nil {
		return fieldErr(map[string]string{"invalid_cursor": "cursor", "invalid_limit": "limit", "invalid_time": "from"}[bank.ErrorCode(err)], err)
	}
	if entries == nil {
		entries = []bank.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next_cursor": next})
	return nil
}

// entryQuery reads an account's page of entries from the query string:
// limit, then from and to, then their order.
func entryQuery(r *http.Request, number string) (ledger.EntryQuery, error) {
	q := r.URL.Query()
	eq := ledger.EntryQuery{Account: number, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ledger.MaxPageSize {
			return eq, invalid("invalid_limit", "limit", "limit must be an integer between 1 and "+strconv.Itoa(ledger.MaxPageSize))
		}
		eq.Limit = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &eq.From}, {"to", &eq.To}} {
		t, err := queryTime(q, p.name)
		if err != nil {
			return eq, err
		}
		*p.dst = t
	}
	if !eq.From.IsZero() && !eq.To.IsZero() && !eq.From.Before(eq.To) {
		return eq, invalid("invalid_time", "to", "to must be after from")
	}
	return eq, nil
}

// queryTime reads an RFC 3339 time from the query string; absent is the
// zero time.
func queryTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid("invalid_time", name, name+" must be an RFC 3339 time such as 2026-01-31T00:00:00Z")
	}
	return t, nil
}

// BalanceView is an account's posted balance at an instant: the balance
// after EntryID, the last journal entry at or before At ("" and 0 when
// there is none, e.g. before the account existed).
type BalanceView struct {
	Account  string    `json:"account"`
	Currency string    `json:"currency"`
	At       time.Time `json:"at"`
	Balance  int64     `json:"balance"`
	EntryID  string    `json:"entry_id"`
}

// balanceAt answers the posted balance at ?at= (now when absent). Holds
// do not count: the journal records postings only.
func (s *Server) balanceAt(w http.ResponseWriter, r *http.Request) error {
	return s.oneRead(w, r, func(who ledger.Caller) error {
		number := chi.URLParam(r, "number")
		if err := checkNumber("number", number); err != nil {
			return err
		}
		at, err := s.balanceInstant(r)
		if err != nil {
			return err
		}
		a, b, err := s.l.BalanceAtAs(r.Context(), who, number, at)
		return writeBalance(w, a, at, b, err)
	}, s.balanceAtChecked)
}

func (s *Server) balanceAtChecked(w http.ResponseWriter, r *http.Request) error {
	a, err := s.pathAccount(r)
	if err != nil {
		return err
	}
	at, err := s.balanceInstant(r)
	if err != nil {
		return err
	}
	b, err := s.l.BalanceAt(r.Context(), a.Number, at)
	return writeBalance(w, a, at, b, err)
}

// balanceInstant is the ?at= of a balance, now when absent.
func (s *Server) balanceInstant(r *http.Request) (time.Time, error) {
	at, err := queryTime(r.URL.Query(), "at")
	if err == nil && at.IsZero() {
		at = s.l.Now()
	}
	return at, err
}

// writeBalance answers a's balance b at at, or the ledger's refusal of
// the instant.
func writeBalance(w http.ResponseWriter, a bank.Account, at time.Time, b ledger.PointBalance, err error) error {
	if err != nil {
		return fieldErr("at", err)
	}
	writeJSON(w, http.StatusOK, BalanceView{Account: a.Number, Currency: a.Currency, At: at.UTC(), Balance: b.Balance, EntryID: b.EntryID})
	return nil
}
