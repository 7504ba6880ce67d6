package api

// Routes of /v1/webhooks.

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	return listOwn(w, r, "webhooks", s.webhooks.List)
}

type webhookReq struct {
	URL    string   `json:"url"`
	Events []string `json:"events,omitempty"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[webhookReq](s, w, r)
	if err != nil {
		return err
	}
	h, err := s.webhooks.Create(r.Context(), userOf(r).ID, req.URL, req.Events, time.Now())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhooks/"+h.ID)
	writeJSON(w, http.StatusCreated, h)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.webhooks.Delete(r.Context(), userOf(r).ID, chi.URLParam(r, "id")))
}

// transfer.completed and hold.captured are not announced here: the
// posting scripts append them to the ledger's outbox in the same atomic
// step as the posting, and the worker's outbox relay announces them, so a
// crash between the posting and its announcement cannot lose the event.
