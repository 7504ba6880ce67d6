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

func (s *Server) authorizeHold(w http.ResponseWriter, r *http.Request) {
	location := func(h bank.Hold) string { return "/v1/holds/" + h.ID }
	moveMoney(s, w, r, "hold", http.StatusCreated, location, func(req holdReq, idem ledger.Idem) (bank.Hold, bool, error) {
		if err := checkNumber("account", req.Account); err != nil {
			return bank.Hold{}, false, err
		}
		if err := checkNumber("payee", req.Payee); err != nil {
			return bank.Hold{}, false, err
		}
		if err := checkMoney(req.Amount, req.Currency); err != nil {
			return bank.Hold{}, false, err
		}
		if err := checkText("description", req.Description, MaxDescription); err != nil {
			return bank.Hold{}, false, err
		}
		maxTTL := int64(ledger.MaxHoldTTL / time.Second)
		if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > maxTTL {
			return bank.Hold{}, false, invalid("invalid_expiry", "expires_in_seconds",
				"expires_in_seconds must be between 1 and "+strconv.FormatInt(maxTTL, 10)+" (omit it for the default of 7 days)")
		}
		a, err := s.ownAccount(r, "account", req.Account)
		if err != nil {
			return bank.Hold{}, false, err
		}
		if a.Type == bank.System {
			return bank.Hold{}, false, bank.ErrSystemAccount
		}
		if req.Payee == req.Account {
			return bank.Hold{}, false, bank.ErrSameAccount
		}
		if _, err := s.receiver(r, req.Payee); err != nil {
			return bank.Hold{}, false, err
		}
		return s.l.Authorize(r.Context(), ledger.HoldRequest{Account: req.Account, Payee: req.Payee, Amount: req.Amount,
			Currency: req.Currency, Description: req.Description, TTL: time.Duration(req.ExpiresInSeconds) * time.Second,
			InitiatedBy: userOf(r).ID, Idem: idem})
	})
}

// holdIDs are the shape of hold ids: random ones (ledger.NewID).
var holdIDs = regexp.MustCompile(`^hd_[0-9a-f]{24}$`)

// visibleHold loads a hold the caller may see and settle: the held
// account's owner, the payee's owner (the merchant captures), or staff.
func (s *Server) visibleHold(r *http.Request) (bank.Hold, error) {
	id := chi.URLParam(r, "id")
	if !holdIDs.MatchString(id) {
		return bank.Hold{}, bank.ErrHoldNotFound
	}
	h, err := s.l.Hold(r.Context(), id)
	if err != nil {
		return bank.Hold{}, err
	}
	ok, err := s.owns(r, h.Account, h.Payee)
	if err != nil {
		return bank.Hold{}, err
	}
	if !ok {
		return bank.Hold{}, bank.ErrHoldNotFound
	}
	return h, nil
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) {
	h, err := s.visibleHold(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

type captureReq struct {
	Amount      *int64 `json:"amount"`
	Description string `json:"description"`
}

func (s *Server) captureHold(w http.ResponseWriter, r *http.Request) {
	moveMoney(s, w, r, bank.KindCapture, http.StatusOK, nil, func(req captureReq, idem ledger.Idem) (bank.Hold, bool, error) {
		if req.Amount != nil {
			if err := bank.ValidateAmount(*req.Amount); err != nil {
				return bank.Hold{}, false, fieldErr("amount", err)
			}
		}
		if err := checkText("description", req.Description, MaxDescription); err != nil {
			return bank.Hold{}, false, err
		}
		h, err := s.visibleHold(r)
		if err != nil {
			return bank.Hold{}, false, err
		}
		// Capturing moves money: only the payer or the payee (the
		// merchant) may, not staff on their behalf. Staff may void,
		// which only releases the reservation. A customer's ownership
		// is what visibleHold has just checked.
		if userOf(r).Role.Staff() {
			if mine, err := s.ownsAny(r, h.Account, h.Payee); err != nil {
				return bank.Hold{}, false, err
			} else if !mine {
				return bank.Hold{}, false, bank.Errorf(bank.KindForbidden, "not_account_owner", "only the payer or the payee can capture a hold")
			}
		}
		amount := h.Amount
		if req.Amount != nil {
			amount = *req.Amount
		}
		return s.l.Capture(r.Context(), h.ID, amount, req.Description, userOf(r).ID, idem)
	})
}

func (s *Server) voidHold(w http.ResponseWriter, r *http.Request) {
	moveMoney(s, w, r, "void", http.StatusOK, nil, func(_ struct{}, idem ledger.Idem) (bank.Hold, bool, error) {
		h, err := s.visibleHold(r)
		if err != nil {
			return bank.Hold{}, false, err
		}
		return s.l.Void(r.Context(), h.ID, userOf(r).ID, idem)
	})
}

func (s *Server) accountHolds(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	holds, err := s.l.HoldsOf(r.Context(), a.Number, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"holds": holds})
}
