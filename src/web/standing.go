package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
)

// Frequencies a standing order may repeat at, in the API's vocabulary.
var frequencies = []string{"daily", "weekly", "monthly"}

type standingForm struct {
	transferForm
	Frequency, FirstDate, EndDate string
}

type standingData struct {
	Orders      []apiclient.StandingOrder
	Accounts    []apiclient.Account
	Form        standingForm
	Frequencies []string
	Today       string
}

func (s *Server) standingOrders(w http.ResponseWriter, r *http.Request, sess *Session) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	f := standingForm{transferForm: transferForm{Key: newIdempotencyKey(), Errors: map[string]string{}}, Frequency: "monthly"}
	s.renderStanding(w, r, sess, http.StatusOK, f, sendable(accts))
}

// renderStanding shows the orders and the form; accts are the sendable
// accounts the handler already fetched.
func (s *Server) renderStanding(w http.ResponseWriter, r *http.Request, sess *Session, code int, f standingForm, accts []apiclient.Account) {
	orders, err := s.api.StandingOrders(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	d := standingData{Orders: orders, Accounts: accts, Form: f, Frequencies: frequencies, Today: time.Now().UTC().Format("2006-01-02")}
	s.render(w, r, code, "standing", page{Title: "Standing orders", Nav: "standing", Data: d})
}

func (s *Server) createStandingOrder(w http.ResponseWriter, r *http.Request, sess *Session) {
	accts, err := s.api.Accounts(r.Context(), sess.Token)
	if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	f := readStandingForm(r)
	accts = sendable(accts)
	from, minor := checkTransfer(&f.transferForm, accts)
	checkSchedule(&f, time.Now())
	if len(f.Errors) > 0 {
		s.renderStanding(w, r, sess, http.StatusUnprocessableEntity, f, accts)
		return
	}
	o, err := s.api.CreateStandingOrder(r.Context(), sess.Token, f.Key, apiclient.StandingOrderRequest{
		From: from.Number, To: f.To, Amount: minor, Currency: from.Account.Currency,
		Description: f.Description, Frequency: f.Frequency, FirstDate: f.FirstDate, EndDate: f.EndDate,
	})
	if err != nil {
		p, ok := s.refused(w, r, sess, err)
		if !ok {
			return
		}
		if p.Code == "invalid_date" {
			f.Errors["first_date"] = describe(p)
		} else {
			f.showError(p.Code, describe(p))
		}
		f.Key = newIdempotencyKey()
		s.renderStanding(w, r, sess, http.StatusUnprocessableEntity, f, accts)
		return
	}
	s.flash(r, sess, "Standing order created: "+money(o.Amount, o.Currency)+" "+o.Frequency+" to "+groupNumber(o.To)+".")
	http.Redirect(w, r, "/standing-orders", http.StatusSeeOther)
}

func readStandingForm(r *http.Request) standingForm {
	return standingForm{transferForm: readTransferForm(r), Frequency: r.PostFormValue("frequency"),
		FirstDate: strings.TrimSpace(r.PostFormValue("first_date")), EndDate: strings.TrimSpace(r.PostFormValue("end_date"))}
}

// checkSchedule validates how often the order repeats and its dates (UTC
// days, like the form's "today"); an empty first date means today.
func checkSchedule(f *standingForm, now time.Time) {
	valid := false
	for _, fr := range frequencies {
		valid = valid || fr == f.Frequency
	}
	if !valid {
		f.Errors["frequency"] = "Choose how often the transfer repeats."
	}
	today := now.UTC().Truncate(24 * time.Hour)
	if f.FirstDate == "" {
		f.FirstDate = today.Format("2006-01-02")
	}
	first, err := time.Parse("2006-01-02", f.FirstDate)
	if err != nil {
		f.Errors["first_date"] = "The first date must look like 2026-01-31."
	} else if first.Before(today) {
		f.Errors["first_date"] = "The first date must be today or later."
	}
	if f.EndDate != "" {
		if end, err := time.Parse("2006-01-02", f.EndDate); err != nil {
			f.Errors["end_date"] = "The last date must look like 2026-12-31."
		} else if f.Errors["first_date"] == "" && end.Before(first) {
			f.Errors["end_date"] = "The last date must not be before the first date."
		}
	}
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
