package api

// Routes of the background-jobs features: statements, standing orders,
// webhooks, and the staff views of reconciliation and the job queues.
// Their stores live in their own packages; this file only decides who may
// ask and turns HTTP into calls.

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
)

// backgroundRoutes mounts the customer routes (inside authentication).
func (s *Server) backgroundRoutes(r chi.Router) {
	r.Get("/accounts/{number}/statements", s.listStatements)
	r.Get("/accounts/{number}/statements/{month}", s.getStatement)
	r.Get("/standing-orders", s.listStandingOrders)
	r.Post("/standing-orders", s.createStandingOrder)
	r.Get("/standing-orders/{id}", s.getStandingOrder)
	r.Delete("/standing-orders/{id}", s.cancelStandingOrder)
	r.Get("/webhooks", s.listWebhooks)
	r.Post("/webhooks", s.createWebhook)
	r.Delete("/webhooks/{id}", s.deleteWebhook)
}

// backgroundStaffRoutes mounts the staff routes.
func (s *Server) backgroundStaffRoutes(r chi.Router) {
	r.Get("/admin/reconciliation", s.reconciliation)
	r.Get("/admin/jobs", s.jobStats)
}

func (s *Server) listStatements(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.statements.List(r.Context(), a.Number)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"statements": list})
}

func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	month := chi.URLParam(r, "month")
	if _, err := statements.ParseMonth(month, time.UTC); err != nil {
		s.fail(w, r, invalid("invalid_month", "month", "month must be YYYY-MM"))
		return
	}
	st, err := s.statements.Get(r.Context(), a.Number, month)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		var buf bytes.Buffer
		if err := statements.WriteCSV(&buf, st); err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="statement-`+a.Number+"-"+month+`.csv"`)
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

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

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := s.webhooks.List(r.Context(), userOf(r).ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
}

type webhookReq struct {
	URL    string   `json:"url"`
	Events []string `json:"events,omitempty"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookReq
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.webhooks.Create(r.Context(), userOf(r).ID, req.URL, req.Events, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+h.ID)
	writeJSON(w, http.StatusCreated, h)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.webhooks.Delete(r.Context(), userOf(r).ID, chi.URLParam(r, "id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) {
	last, ok, err := s.l.LastReconciliation(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.fail(w, r, bank.Errorf(bank.KindNotFound, "not_found", "reconciliation has not run yet"))
		return
	}
	writeJSON(w, http.StatusOK, last)
}

func (s *Server) jobStats(w http.ResponseWriter, r *http.Request) {
	if s.cfg.QueueStats == nil {
		s.fail(w, r, errors.New("api: no job statistics configured (Config.QueueStats)"))
		return
	}
	stats, err := s.cfg.QueueStats(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": stats})
}

// transfer.completed and hold.captured are not announced here: the
// posting scripts append them to the ledger's outbox in the same atomic
// step as the posting, and the worker's outbox relay announces them, so a
// crash between the posting and its announcement cannot lose the event.
