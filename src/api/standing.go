package api

// Routes of /v1/standing-orders.

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/standing"
)

func (s *Server) listStandingOrders(w http.ResponseWriter, r *http.Request) {
	list, err := s.standing.List(r.Context(), userOf(r).ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"standing_orders": list})
}

func (s *Server) createStandingOrder(w http.ResponseWriter, r *http.Request) {
	var req standing.Request
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	idem, err := idempotency(r, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The same text and receiver rules as a one-off transfer.
	if err := checkText("description", req.Description, MaxDescription); err != nil {
		s.fail(w, r, err)
		return
	}
	if bank.ValidateAccountNumber(req.To) == nil {
		if _, err := s.receiver(r, req.To); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	// The key's hash covers the request, so a different body is a conflict.
	o, replayed, err := s.standing.Create(r.Context(), userOf(r).ID, req, s.l.Now(), idem)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/standing-orders/"+o.ID)
	writeMoney(w, http.StatusCreated, replayed, o)
}

func (s *Server) getStandingOrder(w http.ResponseWriter, r *http.Request) {
	o, err := s.standing.Get(r.Context(), userOf(r).ID, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) cancelStandingOrder(w http.ResponseWriter, r *http.Request) {
	o, err := s.standing.Cancel(r.Context(), userOf(r).ID, chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}
