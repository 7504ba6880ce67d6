package api

// Routes of /v1/admin: account status, reconciliation and the job queues.

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
)

func (s *Server) setStatus(action string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		n := chi.URLParam(r, "number")
		if err := checkNumber("number", n); err != nil {
			return err
		}
		a, err := s.l.Account(r.Context(), n)
		if err == nil {
			err = notOwnAccount(r, a)
		}
		if err != nil {
			return err
		}
		if a, err = s.l.SetStatus(r.Context(), n, action); err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "account status changed", "account", n, "action", action, "by", userOf(r).ID)
		writeJSON(w, http.StatusOK, view(a))
		return nil
	}
}

func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) error {
	last, ok, err := s.l.LastReconciliation(r.Context())
	if err == nil && !ok {
		err = bank.Errorf(bank.KindNotFound, "not_found", "reconciliation has not run yet")
	}
	return reply(w, http.StatusOK, last, err)
}

func (s *Server) jobStats(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.QueueStats == nil {
		return errors.New("api: no job statistics configured (Config.QueueStats)")
	}
	stats, err := s.cfg.QueueStats(r.Context())
	return reply(w, http.StatusOK, map[string]any{"jobs": stats}, err)
}
