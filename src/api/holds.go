package api

// Routes of /v1/holds and an account's holds.

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

type holdReq struct {
	Account          string `json:"account"`
	Payee            string `json:"payee"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	Description      string `json:"description"`
	ExpiresInSeconds int64  `json:"expires_in_seconds"`
}

func (req holdReq) validate() error {
	if err := firstError(checkNumber("account", req.Account), checkNumber("payee", req.Payee),
		checkMoney(req.Amount, req.Currency), checkText("description", req.Description, MaxDescription)); err != nil {
		return err
	}
	maxTTL := int64(ledger.MaxHoldTTL / time.Second)
	if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > maxTTL {
		return invalid("invalid_expiry", "expires_in_seconds",
			"expires_in_seconds must be between 1 and "+strconv.FormatInt(maxTTL, 10)+" (omit it for the default of 7 days)")
	}
	return nil
}

// authorizeHold is one Redis round trip, like transfer: the ledger's
// script checks the token, the role, the held account's owner and the
// payee in the step that reserves the money.
func (s *Server) authorizeHold(w http.ResponseWriter, r *http.Request) error {
	tok, err := bearerToken(r)
	if err != nil {
		return err
	}
	who := callerOf(tok, holdRoute)
	location := func(h bank.Hold) string { return "/v1/holds/" + h.ID }
	return moveMoney(s, w, r, "hold", http.StatusCreated, location, func(req holdReq, idem ledger.Idem) (bank.Hold, bool, error) {
		h, replayed, err := s.l.AuthorizeAs(r.Context(), who,
			ledger.HoldRequest{Account: req.Account, Payee: req.Payee, Amount: req.Amount,
				Currency: req.Currency, Description: req.Description, TTL: time.Duration(req.ExpiresInSeconds) * time.Second, Idem: idem})
		return h, replayed, forbiddenFor(who.Allowed, err)
	})
}

// holdRoute is the permission table's name of POST /v1/holds.
const holdRoute = "POST /v1/holds"

// holdIDs are the shape of hold ids: random ones (ledger.NewID).
var holdIDs = regexp.MustCompile(`^hd_[0-9a-f]{24}$`)

// visibleHold loads a hold the caller may see and settle: the held
// account's owner, the payee's owner (the merchant captures), or staff.
func (s *Server) visibleHold(r *http.Request) (bank.Hold, error) {
	return visible(s, r, holdIDs, bank.ErrHoldNotFound, s.l.Hold, func(h bank.Hold) []string { return []string{h.Account, h.Payee} })
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	h, err := s.visibleHold(r)
	return reply(w, http.StatusOK, h, err)
}

type captureReq struct {
	Amount      *int64 `json:"amount"`
	Description string `json:"description"`
}

func (req captureReq) validate() error {
	if req.Amount != nil {
		if err := bank.ValidateAmount(*req.Amount); err != nil {
			return fieldErr("amount", err)
		}
	}
	return checkText("description", req.Description, MaxDescription)
}

// captureHold and voidHold are one round trip each: the ledger's script
// checks the token, the role and who may settle the hold (visible to its
// parties and staff, as visibleHold; captured only by the payer or the
// payee, the merchant, never staff on their behalf; staff may void, which
// only releases the reservation).
func (s *Server) captureHold(w http.ResponseWriter, r *http.Request) error {
	return s.settleHold(w, r, "POST /v1/holds/{id}/capture", string(bank.PostingCapture))
}

func (s *Server) voidHold(w http.ResponseWriter, r *http.Request) error {
	return s.settleHold(w, r, "POST /v1/holds/{id}/void", "void")
}

func (s *Server) settleHold(w http.ResponseWriter, r *http.Request, route, kind string) error {
	tok, err := bearerToken(r)
	if err != nil {
		return err
	}
	who := callerOf(tok, route)
	id := chi.URLParam(r, "id")
	if kind == "void" {
		return moveMoney(s, w, r, kind, http.StatusOK, nil, func(_ noFields, idem ledger.Idem) (bank.Hold, bool, error) {
			if !holdIDs.MatchString(id) {
				return bank.Hold{}, false, bank.ErrHoldNotFound
			}
			h, replayed, err := s.l.VoidAs(r.Context(), who, id, idem)
			return h, replayed, forbiddenFor(who.Allowed, err)
		})
	}
	return moveMoney(s, w, r, kind, http.StatusOK, nil, func(req captureReq, idem ledger.Idem) (bank.Hold, bool, error) {
		if !holdIDs.MatchString(id) {
			return bank.Hold{}, false, bank.ErrHoldNotFound
		}
		var amount int64 // 0: all that is held
		if req.Amount != nil {
			amount = *req.Amount
		}
		h, replayed, err := s.l.CaptureAs(r.Context(), who, id, amount, req.Description, idem)
		return h, replayed, forbiddenFor(who.Allowed, err)
	})
}

func (s *Server) accountHolds(w http.ResponseWriter, r *http.Request) error {
	a, err := s.pathAccount(r)
	if err != nil {
		return err
	}
	holds, err := s.l.HoldsOf(r.Context(), a.Number, 100)
	return reply(w, http.StatusOK, map[string]any{"holds": holds}, err)
}
