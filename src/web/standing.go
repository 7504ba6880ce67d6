package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
)

// Intervals a standing order may repeat at, in the API's vocabulary.
var intervals = []string{"daily", "weekly", "monthly"}

type standingForm struct {
	transferForm
	Interval, StartDate string
}

type standingData struct {
	Orders      []apiclient.StandingOrder
	Accounts    []apiclient.Account
	Form        standingForm
	Intervals   []string
	Unavailable bool // the standing-orders API is not deployed yet
}

func (s *Server) standingOrders(w http.ResponseWriter, r *http.Request, sess *Session) {
	f := standingForm{transferForm: transferForm{Key: newIdempotencyKey(), Errors: map[string]string{}}, Interval: "monthly"}
	s.renderStanding(w, r, sess, http.StatusOK, f)
}

func (s *Server) renderStanding(w http.ResponseWriter, r *http.Request, sess *Session, code int, f standingForm) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	d := standingData{Accounts: sendable(accts), Form: f, Intervals: intervals}
	d.Orders, err = s.api.StandingOrders(r.Context(), sess.Token)
	if apiclient.IsStatus(err, http.StatusNotFound) || apiclient.IsStatus(err, http.StatusMethodNotAllowed) {
		d.Unavailable = true
	} else if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	s.render(w, r, code, "standing", page{Title: "Standing orders", Nav: "standing", Data: d})
}

func (s *Server) createStandingOrder(w http.ResponseWriter, r *http.Request, sess *Session) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	f := standingForm{transferForm: readTransferForm(r), Interval: r.PostFormValue("interval"), StartDate: strings.TrimSpace(r.PostFormValue("start_date"))}
	from, minor := checkTransfer(&f.transferForm, sendable(accts))
	valid := false
	for _, iv := range intervals {
		valid = valid || iv == f.Interval
	}
	if !valid {
		f.Errors["interval"] = "Choose how often the transfer repeats."
	}
	if f.StartDate != "" {
		if d, err := time.Parse("2006-01-02", f.StartDate); err != nil {
			f.Errors["start_date"] = "The first date must look like 2026-01-31."
		} else if d.Before(time.Now().UTC().Truncate(24 * time.Hour)) {
			f.Errors["start_date"] = "The first date must be today or later."
		}
	}
	if len(f.Errors) > 0 {
		s.renderStanding(w, r, sess, http.StatusUnprocessableEntity, f)
		return
	}
	o, err := s.api.CreateStandingOrder(r.Context(), sess.Token, f.Key, apiclient.StandingOrderRequest{
		From: from.Number, To: f.To, Amount: minor, Currency: from.Account.Currency,
		Description: f.Description, Interval: f.Interval, StartDate: f.StartDate,
	})
	if err != nil {
		p, ok := apiclient.AsProblem(err)
		if !ok || p.Status >= 500 || p.Status == http.StatusUnauthorized {
			s.apiFailure(w, r, sess, err)
			return
		}
		if p.Status == http.StatusNotFound && p.Code != "account_not_found" {
			f.Error = "Standing orders are not available yet."
		} else if field := fieldOf(p.Code); field != "" {
			f.Errors[field] = describe(p)
		} else {
			f.Error = describe(p)
		}
		f.Key = newIdempotencyKey()
		s.renderStanding(w, r, sess, http.StatusUnprocessableEntity, f)
		return
	}
	s.flash(r, sess, "Standing order created: "+money(o.Amount, o.Currency)+" "+o.Interval+" to "+groupNumber(o.To)+".")
	http.Redirect(w, r, "/standing-orders", http.StatusSeeOther)
}

func (s *Server) cancelStandingOrder(w http.ResponseWriter, r *http.Request, sess *Session) {
	id := r.PathValue("id")
	if err := s.api.CancelStandingOrder(r.Context(), sess.Token, id); err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	s.flash(r, sess, "The standing order was cancelled.")
	http.Redirect(w, r, "/standing-orders", http.StatusSeeOther)
}
