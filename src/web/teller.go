package web

import (
	"cmp"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
)

type searchData struct {
	Query   string
	Results []apiclient.CustomerMatch
	Error   string
	Till    *apiclient.Till // today's work at the till, for those who work it
	Pending []bank.Reversal // reversals waiting for an admin's decision
}

func (s *Server) tellerSearch(w http.ResponseWriter, r *http.Request, sess *Session) {
	d := searchData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Query != "" {
		q := strings.ReplaceAll(d.Query, " ", "")
		if !validNumber.MatchString(q) {
			q = d.Query
		}
		res, err := s.api.SearchCustomers(r.Context(), sess.Token, q)
		if p, ok := apiclient.AsProblem(err); ok && p.Status == http.StatusBadRequest {
			d.Error = describe(p)
		} else if err != nil {
			s.apiFailure(w, r, sess, err)
			return
		}
		d.Results = res
	}
	// The till and the waiting reversals are independent reads: at once.
	var wg sync.WaitGroup
	var tillErr, pendingErr error
	if sess.Till() {
		wg.Go(func() {
			var till apiclient.Till
			till, tillErr = s.api.TodaysTill(r.Context(), sess.Token)
			d.Till = &till
		})
	}
	if sess.Admin() {
		wg.Go(func() { d.Pending, pendingErr = s.api.PendingReversals(r.Context(), sess.Token) })
	}
	wg.Wait()
	if err := cmp.Or(tillErr, pendingErr); err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "teller", page{Title: "Teller console", Nav: "teller", Data: d})
}

type cashForm struct {
	Kind, Amount, Description, Key string
	Error                          string
}

type tellerAccountData struct {
	Account apiclient.Account
	Owner   string // username, when the search finds it
	Entries []bank.Entry
	Cash    []cashView // deposit and withdrawal forms
	Error   string
}

type cashView struct {
	Form            cashForm
	Account         apiclient.Account
	Heading, Button string
}

func (s *Server) tellerAccount(w http.ResponseWriter, r *http.Request, sess *Session) {
	s.renderTellerAccount(w, r, sess, http.StatusOK, cashForm{}, "")
}

// renderTellerAccount shows an account with fresh cash forms; failed, when
// set, replaces the form of its kind so the teller's input is kept.
func (s *Server) renderTellerAccount(w http.ResponseWriter, r *http.Request, sess *Session, code int, failed cashForm, errMsg string) {
	number := r.PathValue("number")
	a, ok := s.pathAccount(w, r, sess, number)
	if !ok {
		return
	}
	page1, err := s.api.Entries(r.Context(), sess.Token, number, apiclient.EntryQuery{Limit: 10})
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	dep := cashForm{Kind: "deposit", Key: newIdempotencyKey()}
	wd := cashForm{Kind: "withdrawal", Key: newIdempotencyKey()}
	switch failed.Kind {
	case "deposit":
		dep = failed
	case "withdrawal":
		wd = failed
	}
	d := tellerAccountData{Account: a, Owner: s.ownerName(r, sess, a), Entries: page1.Entries, Error: errMsg, Cash: []cashView{
		{dep, a, "Cash deposit", "Deposit"},
		{wd, a, "Cash withdrawal", "Pay out"},
	}}
	s.render(w, r, code, "teller_account", page{Title: "Account " + groupNumber(a.Number), Nav: "teller", Data: d})
}

func (s *Server) tellerCash(w http.ResponseWriter, r *http.Request, sess *Session) {
	number := r.PathValue("number")
	f := cashForm{
		Kind: r.PostFormValue("kind"), Amount: strings.TrimSpace(r.PostFormValue("amount")),
		Description: strings.TrimSpace(r.PostFormValue("description")), Key: r.PostFormValue("idempotency_key"),
	}
	if f.Kind != "deposit" && f.Kind != "withdrawal" {
		s.renderError(w, r, http.StatusBadRequest, "Unknown action", "Choose deposit or withdrawal.")
		return
	}
	if !validIdemKey(f.Key) {
		f.Key = newIdempotencyKey()
	}
	a, err := s.api.Account(r.Context(), sess.Token, number)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	minor, err := bank.ParseAmount(f.Amount, a.CurrencyInfo())
	if err != nil {
		f.Error = "Invalid amount: " + strings.TrimPrefix(err.(*bank.Error).Message, "amount ")
		s.renderTellerAccount(w, r, sess, http.StatusUnprocessableEntity, f, "")
		return
	}
	req := apiclient.CashRequest{Account: number, Amount: minor, Currency: a.Account.Currency, Description: f.Description}
	call := s.api.Deposit
	verb := "Deposited "
	if f.Kind == "withdrawal" {
		call, verb = s.api.Withdraw, "Paid out "
	}
	t, err := call(r.Context(), sess.Token, f.Key, req)
	if err != nil {
		p, ok := s.refused(w, r, sess, err)
		if !ok {
			return
		}
		f.Error = describe(p)
		f.Key = newIdempotencyKey()
		s.renderTellerAccount(w, r, sess, http.StatusUnprocessableEntity, f, "")
		return
	}
	s.flash(r, sess, verb+money(t.Amount, t.Currency)+" on account "+groupNumber(number)+".")
	http.Redirect(w, r, "/teller/accounts/"+number, http.StatusSeeOther)
}

func (s *Server) tellerStatus(w http.ResponseWriter, r *http.Request, sess *Session) {
	number, action := r.PathValue("number"), r.PostFormValue("action")
	if action != "freeze" && action != "unfreeze" && action != "close" {
		s.renderError(w, r, http.StatusBadRequest, "Unknown action", "Choose freeze, unfreeze or close.")
		return
	}
	if action == "close" && r.PostFormValue("confirm") != "yes" {
		s.confirmClose(w, r, sess, number)
		return
	}
	a, err := s.api.SetStatus(r.Context(), sess.Token, number, action)
	if err != nil {
		p, ok := formProblem(err)
		if !ok || p.Status == http.StatusNotFound {
			s.apiFailure(w, r, sess, err)
			return
		}
		s.renderTellerAccount(w, r, sess, p.Status, cashForm{}, describe(p))
		return
	}
	s.flash(r, sess, "Account "+groupNumber(number)+" is now "+string(a.Status)+".")
	http.Redirect(w, r, "/teller/accounts/"+number, http.StatusSeeOther)
}

// pathAccount loads the account the URL names, or answers with the page
// that says why not.
func (s *Server) pathAccount(w http.ResponseWriter, r *http.Request, sess *Session, number string) (apiclient.Account, bool) {
	if !validNumber.MatchString(number) {
		s.renderError(w, r, http.StatusNotFound, "Not found", "There is no such account.")
		return apiclient.Account{}, false
	}
	a, err := s.api.Account(r.Context(), sess.Token, number)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return apiclient.Account{}, false
	}
	return a, true
}

// ownerName is the username of a's owner when the search finds it, else
// the owner's id.
func (s *Server) ownerName(r *http.Request, sess *Session, a apiclient.Account) string {
	if res, err := s.api.SearchCustomers(r.Context(), sess.Token, a.Number); err == nil && len(res) == 1 {
		return res[0].User.Username
	}
	return a.Owner
}

// confirmClose asks before an account is closed for good; the answer
// posts the close again with confirm=yes.
func (s *Server) confirmClose(w http.ResponseWriter, r *http.Request, sess *Session, number string) {
	a, ok := s.pathAccount(w, r, sess, number)
	if !ok {
		return
	}
	d := tellerAccountData{Account: a, Owner: s.ownerName(r, sess, a)}
	s.render(w, r, http.StatusOK, "close_confirm", page{Title: "Close account " + groupNumber(a.Number) + "?", Nav: "teller", Data: d})
}

type opsData struct {
	Reconciliation   apiclient.Reconciliation
	ReconciliationNA bool // never ran, or the jobs service is not deployed
	Sums             []sum
	Jobs             []apiclient.JobStat
}

type sum struct {
	Currency string
	Minor    int64
}

func (s *Server) operations(w http.ResponseWriter, r *http.Request, sess *Session) {
	var d opsData
	var err error
	d.Reconciliation, err = s.api.Reconciliation(r.Context(), sess.Token)
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		d.ReconciliationNA = true
	case err != nil:
		s.apiFailure(w, r, sess, err)
		return
	}
	for c, v := range d.Reconciliation.Report.Sums {
		d.Sums = append(d.Sums, sum{c, v})
	}
	sort.Slice(d.Sums, func(i, j int) bool { return d.Sums[i].Currency < d.Sums[j].Currency })
	d.Jobs, err = s.api.Jobs(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "operations", page{Title: "Operations", Nav: "ops", Data: d})
}
