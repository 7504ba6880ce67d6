package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
)

type dashboardData struct {
	Accounts   []apiclient.Account
	Currencies []string
	Totals     []total
	Open       openForm
}

type total struct {
	Currency           string
	Balance, Available int64
}

type openForm struct {
	Type, Currency, Name string
	Error                string
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess *Session) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	if len(accts) == 0 && sess.Staff() {
		// "You have no accounts yet" is no place for a teller at work.
		http.Redirect(w, r, "/teller", http.StatusSeeOther)
		return
	}
	s.renderDashboard(w, r, http.StatusOK, accts, openForm{Type: "checking", Currency: "EUR"})
}

func (s *Server) renderDashboard(w http.ResponseWriter, r *http.Request, code int, accts []apiclient.Account, f openForm) {
	d := dashboardData{Accounts: accts, Currencies: bank.CurrencyCodes(), Open: f}
	idx := map[string]int{}
	for _, a := range accts {
		if a.Status == bank.Closed {
			continue
		}
		i, ok := idx[a.Account.Currency]
		if !ok {
			i = len(d.Totals)
			idx[a.Account.Currency] = i
			d.Totals = append(d.Totals, total{Currency: a.Account.Currency})
		}
		d.Totals[i].Balance += a.Balance
		d.Totals[i].Available += a.Available
	}
	s.render(w, r, code, "dashboard", page{Title: "Your accounts", Nav: "dashboard", Data: d})
}

func (s *Server) openAccount(w http.ResponseWriter, r *http.Request, sess *Session) {
	f := openForm{Type: r.PostFormValue("type"), Currency: r.PostFormValue("currency"), Name: strings.TrimSpace(r.PostFormValue("name"))}
	fail := func(code int, msg string) {
		f.Error = msg
		accts, err := s.api.Accounts(r.Context(), sess.Token)
		if err != nil {
			s.apiFailure(w, r, sess, err)
			return
		}
		s.renderDashboard(w, r, code, accts, f)
	}
	if f.Type != "checking" && f.Type != "savings" {
		fail(http.StatusUnprocessableEntity, "Choose a checking or a savings account.")
		return
	}
	if _, err := bank.LookupCurrency(f.Currency); err != nil {
		fail(http.StatusUnprocessableEntity, "Choose one of the listed currencies.")
		return
	}
	if len(f.Name) > 60 {
		fail(http.StatusUnprocessableEntity, "The account name can be at most 60 characters long.")
		return
	}
	a, err := s.api.OpenAccount(r.Context(), sess.Token, apiclient.OpenAccount{Type: f.Type, Currency: f.Currency, Name: f.Name})
	if err != nil {
		if p, ok := formProblem(err); ok {
			fail(p.Status, describe(p))
			return
		}
		s.apiFailure(w, r, sess, err)
		return
	}
	s.flash(r, sess, "Your new "+string(a.Type)+" account "+groupNumber(a.Number)+" is open.")
	http.Redirect(w, r, "/accounts/"+a.Number, http.StatusSeeOther)
}

// historyPageSize is the number of entries per history page; chartSize
// bounds how many postings the chart plots.
const (
	historyPageSize = 20
	chartSize       = 200
)

type accountData struct {
	Account     apiclient.Account
	Entries     []bank.Entry
	NextURL     string
	FirstURL    string
	From, To    string
	FilterError string
	Chart       *chart
	Holds       []bank.Hold
	Statements  []apiclient.Statement
	Paged       bool
}

var validNumber = regexp.MustCompile(`^[0-9]{10}$`)

// parseDay reads a YYYY-MM-DD date input.
func parseDay(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.Parse("2006-01-02", v)
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, sess *Session) {
	number := r.PathValue("number")
	if !validNumber.MatchString(number) {
		s.renderError(w, r, http.StatusNotFound, "Not found", "There is no such account, or it is not yours.")
		return
	}
	d, eq := readHistoryFilter(r.URL.Query())
	acct, err := s.api.Account(r.Context(), sess.Token, number)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	d.Account = acct
	reads := s.readAccountPage(r.Context(), sess.Token, number, eq)
	if err := reads.fill(&d); err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	d.FirstURL, d.NextURL = historyLinks(number, d.From, d.To, reads.history.NextCursor)
	d.Chart = buildChart(reads.chart.Entries, acct, time.Now())
	s.render(w, r, http.StatusOK, "account", page{Title: accountTitle(acct), Nav: "dashboard", Data: d})
}

// readHistoryFilter reads the history's date filter and page cursor: the
// values the page shows again, and the entry query they make. Invalid
// dates filter nothing and say why in FilterError.
func readHistoryFilter(q url.Values) (accountData, apiclient.EntryQuery) {
	d := accountData{From: q.Get("from"), To: q.Get("to")}
	eq := apiclient.EntryQuery{Limit: historyPageSize, Cursor: q.Get("cursor")}
	d.Paged = eq.Cursor != ""
	from, err1 := parseDay(d.From)
	to, err2 := parseDay(d.To)
	switch {
	case err1 != nil || err2 != nil:
		d.FilterError = "Dates must look like 2026-01-31."
	case !from.IsZero() && !to.IsZero() && to.Before(from):
		d.FilterError = "The end date must not be before the start date."
	default:
		eq.From = from
		if !to.IsZero() {
			eq.To = to.AddDate(0, 0, 1) // the form's "to" day is inclusive
		}
	}
	return d, eq
}

// accountReads are the account page's reads besides the account itself:
// a page of history, the entries the chart plots, holds and statements.
type accountReads struct {
	history, chart                                apiclient.EntryPage
	holds                                         []bank.Hold
	statements                                    []apiclient.Statement
	errHistory, errChart, errHolds, errStatements error
}

// readAccountPage makes the four independent API reads at once, which
// keeps the page time near one round trip.
func (s *Server) readAccountPage(ctx context.Context, token, number string, eq apiclient.EntryQuery) accountReads {
	var (
		rd accountReads
		wg sync.WaitGroup
	)
	wg.Add(4)
	go func() { defer wg.Done(); rd.history, rd.errHistory = s.api.Entries(ctx, token, number, eq) }()
	go func() {
		defer wg.Done()
		rd.chart, rd.errChart = s.api.Entries(ctx, token, number, apiclient.EntryQuery{Limit: chartSize, From: eq.From, To: eq.To})
	}()
	go func() { defer wg.Done(); rd.holds, rd.errHolds = s.api.Holds(ctx, token, number) }()
	go func() { defer wg.Done(); rd.statements, rd.errStatements = s.api.Statements(ctx, token, number) }()
	wg.Wait()
	return rd
}

// fill puts the reads into d. A stale cursor or a filter the API refuses
// only shows a message on the page (FilterError), and a chart or holds
// read refused as a bad request leaves that part empty; any other failure
// is returned for apiFailure.
func (rd accountReads) fill(d *accountData) error {
	if rd.errHistory != nil {
		if p, ok := apiclient.AsProblem(rd.errHistory); ok && p.Code == "invalid_cursor" {
			d.FilterError = "That page of history is no longer valid; showing the newest entries."
		} else if ok && p.Status == http.StatusBadRequest {
			d.FilterError = describe(p)
		} else {
			return rd.errHistory
		}
	}
	for _, e := range []error{rd.errChart, rd.errHolds} {
		if e != nil && !apiclient.IsStatus(e, http.StatusBadRequest) {
			return e
		}
	}
	if rd.errStatements != nil {
		return rd.errStatements
	}
	d.Entries, d.Holds, d.Statements = rd.history.Entries, rd.holds, rd.statements
	return nil
}

// historyLinks are the first page of the filtered history and, when
// there is one, the next.
func historyLinks(number, from, to, nextCursor string) (first, next string) {
	base := url.Values{}
	if from != "" {
		base.Set("from", from)
	}
	if to != "" {
		base.Set("to", to)
	}
	first = "/accounts/" + number
	if len(base) > 0 {
		first += "?" + base.Encode()
	}
	if nextCursor != "" {
		base.Set("cursor", nextCursor)
		next = "/accounts/" + number + "?" + base.Encode()
	}
	return first, next
}

// accountTitle is the account's name, or its number when it has none.
func accountTitle(a apiclient.Account) string {
	if a.Name == "" {
		return "Account " + groupNumber(a.Number)
	}
	return a.Name
}

var validMonth = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

func (s *Server) statementCSV(w http.ResponseWriter, r *http.Request, sess *Session) {
	number, month := r.PathValue("number"), strings.TrimSuffix(r.PathValue("month"), ".csv")
	if !validNumber.MatchString(number) || !validMonth.MatchString(month) {
		s.renderError(w, r, http.StatusNotFound, "Not found", "There is no such statement.")
		return
	}
	body, err := s.api.StatementCSV(r.Context(), sess.Token, number, month)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="statement-`+number+`-`+month+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := io.Copy(w, body); err != nil {
		s.log.WarnContext(r.Context(), "streaming statement", "err", err)
	}
}

// transferForm holds what the customer typed, so every error page shows
// the values again, plus the idempotency key of this form instance.
type transferForm struct {
	From, To, Amount, Description string
	Key                           string
	Errors                        map[string]string
	Error                         string
}

type transferData struct {
	Form     transferForm
	Accounts []apiclient.Account
	// Set on the confirmation step.
	FromAccount *apiclient.Account
	Minor       int64
}

func (s *Server) transferForm(w http.ResponseWriter, r *http.Request, sess *Session) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	f := transferForm{From: r.URL.Query().Get("from"), Key: newIdempotencyKey()}
	s.renderTransferForm(w, r, http.StatusOK, f, sendable(accts))
}

// sendable are the accounts a customer may pick as the source.
func sendable(accts []apiclient.Account) []apiclient.Account {
	out := accts[:0:0]
	for _, a := range accts {
		if a.Status != bank.Closed {
			out = append(out, a)
		}
	}
	return out
}

// showError shows msg next to the field the API's problem code is about,
// or above the form when it is about none.
func (f *transferForm) showError(code, msg string) {
	if field := fieldOf(code); field != "" {
		f.Errors[field] = msg
	} else {
		f.Error = msg
	}
}

func readTransferForm(r *http.Request) transferForm {
	return transferForm{
		From:        strings.TrimSpace(r.PostFormValue("from")),
		To:          strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("to")), " ", ""),
		Amount:      strings.TrimSpace(r.PostFormValue("amount")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Key:         r.PostFormValue("idempotency_key"),
		Errors:      map[string]string{},
	}
}

// checkTransfer validates the form locally (the API checks again) and
// returns the source account and the exact amount in minor units.
func checkTransfer(f *transferForm, accts []apiclient.Account) (*apiclient.Account, int64) {
	var from *apiclient.Account
	for i := range accts {
		if accts[i].Number == f.From {
			from = &accts[i]
		}
	}
	if from == nil {
		f.Errors["from"] = "Choose one of your accounts to send from."
	}
	if f.To == "" {
		f.Errors["to"] = "Enter the account number of the recipient."
	} else if err := bank.ValidateAccountNumber(f.To); err != nil {
		f.Errors["to"] = messages["invalid_account_number"]
	} else if from != nil && f.To == from.Number {
		f.Errors["to"] = messages["same_account"]
	}
	var minor int64
	if f.Amount == "" {
		f.Errors["amount"] = "Enter an amount, for example 12.50."
	} else if from != nil {
		v, err := bank.ParseAmount(f.Amount, from.CurrencyInfo())
		var be *bank.Error
		if errors.As(err, &be) {
			f.Errors["amount"] = "Invalid amount: " + strings.TrimPrefix(be.Message, "amount ")
		} else {
			minor = v
		}
	}
	if len(f.Description) > 140 {
		f.Errors["description"] = "The description can be at most 140 characters long."
	}
	if !validIdemKey(f.Key) {
		f.Key = newIdempotencyKey()
	}
	return from, minor
}

func (s *Server) transferReview(w http.ResponseWriter, r *http.Request, sess *Session) {
	s.transferStep(w, r, sess, false)
}

func (s *Server) transferConfirm(w http.ResponseWriter, r *http.Request, sess *Session) {
	s.transferStep(w, r, sess, r.PostFormValue("action") != "edit")
}

// transferStep validates the form; on review it shows the confirmation
// page, on confirm it sends the transfer with the form's idempotency key.
func (s *Server) transferStep(w http.ResponseWriter, r *http.Request, sess *Session, execute bool) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	accts = sendable(accts)
	f := readTransferForm(r)
	from, minor := checkTransfer(&f, accts)
	switch {
	case len(f.Errors) > 0:
		s.renderTransferForm(w, r, http.StatusUnprocessableEntity, f, accts)
	case r.PostFormValue("action") == "edit":
		s.renderTransferForm(w, r, http.StatusOK, f, accts)
	case !execute:
		s.render(w, r, http.StatusOK, "transfer_confirm", page{Title: "Confirm transfer", Nav: "transfer",
			Data: transferData{Form: f, FromAccount: from, Minor: minor}})
	default:
		s.sendTransfer(w, r, sess, f, accts, from, minor)
	}
}

// sendTransfer sends the checked form's transfer of minor units from
// from; a rejection shows the form (with accts) again, saying why.
func (s *Server) sendTransfer(w http.ResponseWriter, r *http.Request, sess *Session, f transferForm, accts []apiclient.Account, from *apiclient.Account, minor int64) {
	t, err := s.api.Transfer(r.Context(), sess.Token, f.Key, apiclient.TransferRequest{
		From: from.Number, To: f.To, Amount: minor, Currency: from.Account.Currency, Description: f.Description,
	})
	if err != nil {
		p, ok := s.refused(w, r, sess, err)
		if !ok {
			return
		}
		s.apiErrs.WithLabelValues(p.Code).Inc()
		msg := describe(p)
		if p.Code == "insufficient_funds" {
			msg = "Insufficient funds: " + money(minor, from.Account.Currency) + " is more than the " +
				money(from.Available, from.Account.Currency) + " available on this account (plus any overdraft)."
		}
		f.showError(p.Code, msg)
		// A rejected attempt gets a fresh key: once the customer changes
		// the values, the old key would be a conflict, not a retry.
		f.Key = newIdempotencyKey()
		s.renderTransferForm(w, r, http.StatusUnprocessableEntity, f, accts)
		return
	}
	s.flash(r, sess, "Sent "+money(t.Amount, t.Currency)+" to "+groupNumber(t.To)+".")
	http.Redirect(w, r, "/accounts/"+from.Number, http.StatusSeeOther)
}

func (s *Server) renderTransferForm(w http.ResponseWriter, r *http.Request, code int, f transferForm, accts []apiclient.Account) {
	s.render(w, r, code, "transfer", page{Title: "Transfer money", Nav: "transfer", Data: transferData{Form: f, Accounts: accts}})
}
