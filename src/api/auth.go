package api

// Routes of /v1/auth and /v1/me.

import (
	"net/http"

	"github.com/kubebank/kubebank/src/bank"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req credentials
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.a.Register(r.Context(), req.Username, req.Password, s.clientAddr(r))
	if err != nil {
		s.fail(w, r, fieldErr(fieldOf(err), err))
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func fieldOf(err error) string {
	switch bank.ErrorCode(err) {
	case "invalid_username":
		return "username"
	case "invalid_password":
		return "password"
	}
	return ""
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req credentials
	if err := readBody(w, r, s.maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.a.Login(r.Context(), req.Username, req.Password, s.clientAddr(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.a.Revoke(r.Context(), tokenOf(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, userOf(r)) }
