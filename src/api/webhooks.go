package api

// Routes of /v1/webhooks.

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

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

// transfer.completed and hold.captured are not announced here: the
// posting scripts append them to the ledger's outbox in the same atomic
// step as the posting, and the worker's outbox relay announces them, so a
// crash between the posting and its announcement cannot lose the event.
