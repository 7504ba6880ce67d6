package api

// Routes of /v1/admin/users: admins create users of any role (tellers,
// admins, auditors, customers at the counter) and change roles. Both are
// audited by the script that writes them (audit.go).

import (
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
)

var userIDs = regexp.MustCompile(`^u_[0-9a-f]{24}$`)

func userLocation(u bank.User) string { return "/v1/admin/users/" + u.ID }

type newUserReq struct {
	Username string    `json:"username"`
	Password string    `json:"password"`
	Role     bank.Role `json:"role"`
}

// createUser makes a user with the role asked for. A second request for
// the same username is 409 username_taken, so the route needs no
// Idempotency-Key.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[newUserReq](s, w, r)
	if err != nil {
		return err
	}
	if !req.Role.Valid() {
		return invalid("invalid_role", "role", "role must be customer, teller, admin or auditor")
	}
	u, err := s.a.CreateUser(r.Context(), req.Username, req.Password, req.Role)
	if err != nil {
		return fieldErr(fieldOf(err), err)
	}
	s.log.InfoContext(r.Context(), "user created", "user", u.ID, "role", u.Role, "by", userOf(r).ID)
	w.Header().Set("Location", userLocation(u))
	writeJSON(w, http.StatusCreated, u)
	return nil
}

type roleReq struct {
	Role bank.Role `json:"role"`
}

// setRole changes a user's role, effective from their next request.
// Setting the same role twice changes nothing.
func (s *Server) setRole(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !userIDs.MatchString(id) {
		return bank.Errorf(bank.KindNotFound, "user_not_found", "user not found")
	}
	if err := ownRole(r, id); err != nil {
		return err
	}
	req, err := decodeBody[roleReq](s, w, r)
	if err != nil {
		return err
	}
	if !req.Role.Valid() {
		return invalid("invalid_role", "role", "role must be customer, teller, admin or auditor")
	}
	u, err := s.a.SetRole(r.Context(), id, req.Role)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "role changed", "user", u.ID, "role", u.Role, "by", userOf(r).ID)
	writeJSON(w, http.StatusOK, u)
	return nil
}
