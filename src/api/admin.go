package api

// Routes of /v1/admin: account status and overdraft limits,
// reconciliation and the job queues.

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
)

func (s *Server) setStatus(action string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		n, err := s.staffAccount(r)
		if err != nil {
			return err
		}
		a, err := s.l.SetStatus(r.Context(), n, action)
		if err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "account status changed", "account", n, "action", action, "by", userOf(r).ID)
		writeJSON(w, http.StatusOK, view(a))
		return nil
	}
}

// staffAccount is the account named in the route's {number}, for a
// staff action: it exists and is not the caller's own.
func (s *Server) staffAccount(r *http.Request) (string, error) {
	n := chi.URLParam(r, "number")
	if err := checkNumber("number", n); err != nil {
		return "", err
	}
	a, err := s.l.Account(r.Context(), n)
	if err == nil {
		err = notOwnAccount(r, a)
	}
	return n, err
}

type overdraftReq struct {
	OverdraftLimit *int64 `json:"overdraft_limit"`
}

// setOverdraft changes a checking account's overdraft limit. The ledger
// checks the customer's total across their accounts (the exposure cap)
// in the same step that writes; setting a value twice changes nothing,
// so the route needs no Idempotency-Key.
func (s *Server) setOverdraft(w http.ResponseWriter, r *http.Request) error {
	n, err := s.staffAccount(r)
	if err != nil {
		return err
	}
	req, err := decodeBody[overdraftReq](s, w, r)
	if err != nil {
		return err
	}
	if req.OverdraftLimit == nil {
		return invalid("invalid_overdraft_limit", "overdraft_limit", "overdraft_limit is required (minor units, 0 for none)")
	}
	a, err := s.l.SetOverdraft(r.Context(), n, *req.OverdraftLimit)
	if err != nil {
		return fieldErr("overdraft_limit", err)
	}
	s.log.Info("overdraft limit changed", "account", n, "overdraft_limit", a.OverdraftLimit, "by", userOf(r).ID)
	writeJSON(w, http.StatusOK, view(a))
	return nil
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
