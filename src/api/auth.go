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

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[credentials](s, w, r)
	if err != nil {
		return err
	}
	u, err := s.a.Register(r.Context(), req.Username, req.Password, s.clientAddr(r))
	return reply(w, http.StatusCreated, u, fieldErr(fieldOf(err), err))
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

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[credentials](s, w, r)
	if err != nil {
		return err
	}
	sess, err := s.a.Login(r.Context(), req.Username, req.Password, s.clientAddr(r))
	return reply(w, http.StatusOK, sess, err)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.a.Revoke(r.Context(), tokenOf(r)))
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return reply(w, http.StatusOK, userOf(r), nil)
}
