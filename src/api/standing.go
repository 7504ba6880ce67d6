package api

// Routes of /v1/standing-orders.

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/standing"
)

func (s *Server) listStandingOrders(w http.ResponseWriter, r *http.Request) error {
	return listOwn(w, r, "standing_orders", s.standing.List)
}

func (s *Server) createStandingOrder(w http.ResponseWriter, r *http.Request) error {
	req, idem, err := writeRequest[standing.Request](s, w, r)
	if err != nil {
		return err
	}
	// The same text and receiver rules as a one-off transfer.
	if err := checkText("description", req.Description, MaxDescription); err != nil {
		return err
	}
	if bank.ValidateAccountNumber(req.To) == nil {
		if _, err := s.receiver(r, req.To); err != nil {
			return err
		}
	}
	// The key's hash covers the request, so a different body is a conflict.
	o, replayed, err := s.standing.Create(r.Context(), userOf(r).ID, req, s.l.Now(), idem)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/standing-orders/"+o.ID)
	writeMoney(w, http.StatusCreated, replayed, o)
	return nil
}

func (s *Server) getStandingOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.standing.Get(r.Context(), userOf(r).ID, chi.URLParam(r, "id"))
	return reply(w, http.StatusOK, o, err)
}

func (s *Server) cancelStandingOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.standing.Cancel(r.Context(), userOf(r).ID, chi.URLParam(r, "id"))
	return reply(w, http.StatusOK, o, err)
}
