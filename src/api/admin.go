package api

// Routes of /v1/admin: account status, reconciliation and the job queues.

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
)

func (s *Server) setStatus(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := chi.URLParam(r, "number")
		if err := checkNumber("number", n); err != nil {
			s.fail(w, r, err)
			return
		}
		a, err := s.l.Account(r.Context(), n)
		if err == nil {
			err = notOwnAccount(r, a)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		a, err = s.l.SetStatus(r.Context(), n, action)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("account status changed", "account", n, "action", action, "by", userOf(r).ID)
		writeJSON(w, http.StatusOK, view(a))
	}
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
