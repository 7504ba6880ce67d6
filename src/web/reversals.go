package web

import (
	"net/http"
	"strings"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
)

// Reversals in the teller console: staff at the till ask for one from an
// account's recent postings; an admin other than the one who asked
// approves or rejects it from the console's start page. The API applies
// every rule (four eyes, what remains to reverse, the payee's funds).

type reversalForm struct {
	Account, TransferID, Amount, Reason, Key string
	Error                                    string
}

// reversalNew shows the request form for one posting of an account.
func (s *Server) reversalNew(w http.ResponseWriter, r *http.Request, sess *Session) {
	f := reversalForm{Account: r.URL.Query().Get("account"), TransferID: r.URL.Query().Get("transfer"), Key: newIdempotencyKey()}
	s.renderReversalForm(w, r, http.StatusOK, f)
}

func (s *Server) renderReversalForm(w http.ResponseWriter, r *http.Request, code int, f reversalForm) {
	s.render(w, r, code, "reversal_new", page{Title: "Request a reversal", Nav: "teller", Data: f})
}

// reversalCreate sends the request and goes back to the account.
func (s *Server) reversalCreate(w http.ResponseWriter, r *http.Request, sess *Session) {
	f := reversalForm{Account: r.PostFormValue("account"), TransferID: r.PostFormValue("transfer_id"),
		Amount: strings.TrimSpace(r.PostFormValue("amount")), Reason: strings.TrimSpace(r.PostFormValue("reason")), Key: r.PostFormValue("idempotency_key")}
	req := apiclient.ReversalRequest{TransferID: f.TransferID, Reason: f.Reason}
	if f.Amount != "" {
		a, err := s.api.Account(r.Context(), sess.Token, f.Account)
		if err != nil {
			s.apiFailure(w, r, sess, err)
			return
		}
		if req.Amount, err = bank.ParseAmount(f.Amount, a.CurrencyInfo()); err != nil {
			f.Error = "Enter the amount to reverse, such as 12.50, or leave it empty to reverse all that remains."
			s.renderReversalForm(w, r, http.StatusUnprocessableEntity, f)
			return
		}
	}
	rv, err := s.api.RequestReversal(r.Context(), sess.Token, f.Key, req)
	if err != nil {
		p, ok := s.refused(w, r, sess, err)
		if !ok {
			return
		}
		f.Error = describe(p)
		s.renderReversalForm(w, r, p.Status, f)
		return
	}
	s.flash(r, sess, "Reversal of "+money(rv.Amount, rv.Currency)+" requested; another admin approves it.")
	http.Redirect(w, r, "/teller/accounts/"+f.Account, http.StatusSeeOther)
}

// reversalDecide approves or rejects a pending reversal.
func (s *Server) reversalDecide(w http.ResponseWriter, r *http.Request, sess *Session) {
	id, decision := r.PathValue("id"), r.PostFormValue("decision")
	var rv bank.Reversal
	var err error
	switch decision {
	case "approve":
		rv, err = s.api.ApproveReversal(r.Context(), sess.Token, r.PostFormValue("idempotency_key"), id)
	case "reject":
		rv, err = s.api.RejectReversal(r.Context(), sess.Token, id, strings.TrimSpace(r.PostFormValue("reason")))
	default:
		s.renderError(w, r, http.StatusBadRequest, "Unknown decision", "Choose approve or reject.")
		return
	}
	if err != nil {
		p, ok := s.refused(w, r, sess, err)
		if !ok {
			return
		}
		s.flash(r, sess, "The reversal was not "+decision+"d: "+describe(p))
		http.Redirect(w, r, "/teller", http.StatusSeeOther)
		return
	}
	s.flash(r, sess, "Reversal of "+money(rv.Amount, rv.Currency)+" "+string(rv.Status)+".")
	http.Redirect(w, r, "/teller", http.StatusSeeOther)
}
