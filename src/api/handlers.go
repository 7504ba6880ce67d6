package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
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

// fieldErr attaches the request field to a validation error.
func fieldErr(field string, err error) error {
	var be *bank.Error
	if errors.As(err, &be) && be.Kind == bank.KindInvalid {
		return invalid(be.Code, field, be.Message)
	}
	return err
}

func checkNumber(field, n string) error {
	return fieldErr(field, bank.ValidateAccountNumber(n))
}

func checkMoney(amount int64, currency string) error {
	if err := bank.ValidateAmount(amount); err != nil {
		return fieldErr("amount", err)
	}
	if _, err := bank.LookupCurrency(currency); err != nil {
		return fieldErr("currency", err)
	}
	return nil
}

// --- auth ---

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req credentials
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.a.Register(r.Context(), req.Username, req.Password, s.clientAddr(r))
	if err != nil {
		s.fail(w, r, fieldErr(fieldOf(err), err))
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func fieldOf(err error) string {
	switch bank.ErrorCode(err) {
	case "invalid_username":
		return "username"
	case "invalid_password":
		return "password"
	}
	return ""
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req credentials
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.a.Login(r.Context(), req.Username, req.Password, s.clientAddr(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.a.Revoke(r.Context(), tokenOf(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, userOf(r)) }

// --- accounts ---

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

func (s *Server) accountHolds(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	holds, err := s.l.HoldsOf(r.Context(), a.Number, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"holds": holds})
}

func (s *Server) setStatus(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := chi.URLParam(r, "number")
		if err := checkNumber("number", n); err != nil {
			s.fail(w, r, err)
			return
		}
		a, err := s.l.Account(r.Context(), n)
		if err == nil {
			err = notOwnAccount(r, a)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		a, err = s.l.SetStatus(r.Context(), n, action)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("account status changed", "account", n, "action", action, "by", userOf(r).ID)
		writeJSON(w, http.StatusOK, view(a))
	}
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

// --- idempotency ---

// idempotency reads the Idempotency-Key header and fingerprints the
// request (method, path, and the decoded body re-encoded canonically, so
// whitespace or key order do not make a retry look different).
func idempotency(r *http.Request, req any) (ledger.Idem, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return ledger.Idem{}, invalid("idempotency_key_required", "Idempotency-Key",
			"money-moving requests need an Idempotency-Key header (1-100 printable ASCII characters), unique per intended operation")
	}
	if len(key) > 100 {
		return ledger.Idem{}, invalid("invalid_idempotency_key", "Idempotency-Key", "Idempotency-Key must be at most 100 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return ledger.Idem{}, invalid("invalid_idempotency_key", "Idempotency-Key", "Idempotency-Key must be printable ASCII")
		}
	}
	canon, err := json.Marshal(req)
	if err != nil {
		return ledger.Idem{}, err
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(canon)
	return ledger.Idem{Scope: userOf(r).ID, Key: key, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

func (s *Server) countPosting(kind string, replayed bool, err error) {
	outcome := "completed"
	switch {
	case err != nil:
		outcome = bank.ErrorCode(err)
	case replayed:
		outcome = "replayed"
	}
	s.m.transfers.WithLabelValues(kind, outcome).Inc()
}

func writeMoney(w http.ResponseWriter, status int, replayed bool, v any) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, status, v)
}

// moveMoney runs a money-moving POST the way all of them go: decode the
// body strictly into a Req, take the Idempotency-Key and fingerprint the
// request, then post (which checks the fields and calls the ledger); count
// the outcome and answer with the result or the problem. A request without
// fields (a void) may leave its body out. location, when not nil, names
// the created resource.
func moveMoney[Req, Res any](s *Server, w http.ResponseWriter, r *http.Request, kind string, status int,
	location func(Res) string, post func(Req, ledger.Idem) (Res, bool, error)) {
	res, replayed, err := func() (Res, bool, error) {
		var req Req
		var none Res
		if _, noFields := any(req).(struct{}); !noFields || r.ContentLength != 0 {
			if err := readBody(w, r, s.maxBody, &req); err != nil {
				return none, false, err
			}
		}
		idem, err := idempotency(r, req)
		if err != nil {
			return none, false, err
		}
		return post(req, idem)
	}()
	s.countPosting(kind, replayed, err)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if location != nil {
		w.Header().Set("Location", location(res))
	}
	writeMoney(w, status, replayed, res)
}

func transferLocation(t bank.Transfer) string { return "/v1/transfers/" + t.ID }

// --- transfers ---

type transferReq struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

func (req transferReq) validate() error {
	if err := checkNumber("from", req.From); err != nil {
		return err
	}
	if err := checkNumber("to", req.To); err != nil {
		return err
	}
	if err := checkMoney(req.Amount, req.Currency); err != nil {
		return err
	}
	return checkText("description", req.Description, MaxDescription)
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

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	moveMoney(s, w, r, bank.KindTransfer, http.StatusCreated, transferLocation, func(req transferReq, idem ledger.Idem) (bank.Transfer, bool, error) {
		if err := req.validate(); err != nil {
			return bank.Transfer{}, false, err
		}
		from, err := s.ownAccount(r, "from", req.From)
		if err != nil {
			return bank.Transfer{}, false, err
		}
		if from.Type == bank.System {
			return bank.Transfer{}, false, bank.ErrSystemAccount
		}
		if _, err := s.receiver(r, req.To); err != nil {
			return bank.Transfer{}, false, err
		}
		return s.l.Post(r.Context(), ledger.Posting{From: req.From, To: req.To, Amount: req.Amount, Currency: req.Currency,
			Kind: bank.KindTransfer, Description: req.Description, InitiatedBy: userOf(r).ID, Touch: ledger.TouchFrom, Idem: idem})
	})
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

// transferIDs are the shapes of transfer ids: random ones, and the
// deterministic ones of interest (account + day) and standing orders
// (order + due date). holdIDs are random ones (ledger.NewID).
var (
	transferIDs = regexp.MustCompile(`^(tr_[0-9a-f]{24}|in_[0-9]{10}_[0-9]{4}-[0-9]{2}-[0-9]{2}|so_[0-9a-f]{24}_[0-9]{4}-[0-9]{2}-[0-9]{2})$`)
	holdIDs     = regexp.MustCompile(`^hd_[0-9a-f]{24}$`)
)

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !transferIDs.MatchString(id) {
		s.fail(w, r, bank.ErrTransferNotFound)
		return
	}
	t, err := s.l.Transfer(r.Context(), id)
	if err == nil {
		var ok bool
		if ok, err = s.owns(r, t.From, t.To); err == nil && !ok {
			err = bank.ErrTransferNotFound
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// --- teller ---

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

// --- holds ---

type holdReq struct {
	Account          string `json:"account"`
	Payee            string `json:"payee"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	Description      string `json:"description"`
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
}

func (s *Server) authorizeHold(w http.ResponseWriter, r *http.Request) {
	location := func(h bank.Hold) string { return "/v1/holds/" + h.ID }
	moveMoney(s, w, r, "hold", http.StatusCreated, location, func(req holdReq, idem ledger.Idem) (bank.Hold, bool, error) {
		if err := checkNumber("account", req.Account); err != nil {
			return bank.Hold{}, false, err
		}
		if err := checkNumber("payee", req.Payee); err != nil {
			return bank.Hold{}, false, err
		}
		if err := checkMoney(req.Amount, req.Currency); err != nil {
			return bank.Hold{}, false, err
		}
		if err := checkText("description", req.Description, MaxDescription); err != nil {
			return bank.Hold{}, false, err
		}
		maxTTL := int64(ledger.MaxHoldTTL / time.Second)
		if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > maxTTL {
			return bank.Hold{}, false, invalid("invalid_expiry", "expires_in_seconds",
				"expires_in_seconds must be between 1 and "+strconv.FormatInt(maxTTL, 10)+" (omit it for the default of 7 days)")
		}
		a, err := s.ownAccount(r, "account", req.Account)
		if err != nil {
			return bank.Hold{}, false, err
		}
		if a.Type == bank.System {
			return bank.Hold{}, false, bank.ErrSystemAccount
		}
		if req.Payee == req.Account {
			return bank.Hold{}, false, bank.ErrSameAccount
		}
		if _, err := s.receiver(r, req.Payee); err != nil {
			return bank.Hold{}, false, err
		}
		return s.l.Authorize(r.Context(), ledger.HoldRequest{Account: req.Account, Payee: req.Payee, Amount: req.Amount,
			Currency: req.Currency, Description: req.Description, TTL: time.Duration(req.ExpiresInSeconds) * time.Second,
			InitiatedBy: userOf(r).ID, Idem: idem})
	})
}

// visibleHold loads a hold the caller may see and settle: the held
// account's owner, the payee's owner (the merchant captures), or staff.
func (s *Server) visibleHold(r *http.Request) (bank.Hold, error) {
	id := chi.URLParam(r, "id")
	if !holdIDs.MatchString(id) {
		return bank.Hold{}, bank.ErrHoldNotFound
	}
	h, err := s.l.Hold(r.Context(), id)
	if err != nil {
		return bank.Hold{}, err
	}
	ok, err := s.owns(r, h.Account, h.Payee)
	if err != nil {
		return bank.Hold{}, err
	}
	if !ok {
		return bank.Hold{}, bank.ErrHoldNotFound
	}
	return h, nil
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) {
	h, err := s.visibleHold(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

type captureReq struct {
	Amount      *int64 `json:"amount"`
	Description string `json:"description"`
}

func (s *Server) captureHold(w http.ResponseWriter, r *http.Request) {
	moveMoney(s, w, r, bank.KindCapture, http.StatusOK, nil, func(req captureReq, idem ledger.Idem) (bank.Hold, bool, error) {
		if req.Amount != nil {
			if err := bank.ValidateAmount(*req.Amount); err != nil {
				return bank.Hold{}, false, fieldErr("amount", err)
			}
		}
		if err := checkText("description", req.Description, MaxDescription); err != nil {
			return bank.Hold{}, false, err
		}
		h, err := s.visibleHold(r)
		if err != nil {
			return bank.Hold{}, false, err
		}
		// Capturing moves money: only the payer or the payee (the
		// merchant) may, not staff on their behalf. Staff may void,
		// which only releases the reservation. A customer's ownership
		// is what visibleHold has just checked.
		if userOf(r).Role.Staff() {
			if mine, err := s.ownsAny(r, h.Account, h.Payee); err != nil {
				return bank.Hold{}, false, err
			} else if !mine {
				return bank.Hold{}, false, bank.Errorf(bank.KindForbidden, "not_account_owner", "only the payer or the payee can capture a hold")
			}
		}
		amount := h.Amount
		if req.Amount != nil {
			amount = *req.Amount
		}
		return s.l.Capture(r.Context(), h.ID, amount, req.Description, userOf(r).ID, idem)
	})
}

func (s *Server) voidHold(w http.ResponseWriter, r *http.Request) {
	moveMoney(s, w, r, "void", http.StatusOK, nil, func(_ struct{}, idem ledger.Idem) (bank.Hold, bool, error) {
		h, err := s.visibleHold(r)
		if err != nil {
			return bank.Hold{}, false, err
		}
		return s.l.Void(r.Context(), h.ID, userOf(r).ID, idem)
	})
}
