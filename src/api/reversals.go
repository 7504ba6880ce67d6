package api

// Routes of /v1/admin/reversals: staff request that (part of) a posted
// transfer be paid back; a different admin approves (the ledger posts
// the reversal) or rejects it.

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

var reversalIDs = regexp.MustCompile(`^rv_[0-9a-f]{24}$`)

func reversalLocation(rv bank.Reversal) string { return "/v1/admin/reversals/" + rv.ID }

// notPartyToTransfer refuses staff acting on a transfer of their own accounts.
func (s *Server) notPartyToTransfer(r *http.Request, t bank.Transfer) error {
	mine, err := s.ownsAny(r, t.From, t.To)
	if err == nil && mine {
		err = ledger.ErrOwnTransfer
	}
	return err
}

type reversalReq struct {
	TransferID string `json:"transfer_id"`
	Amount     *int64 `json:"amount"`
	Reason     string `json:"reason"`
}

func checkReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return invalid("invalid_reason", "reason", "reason is required")
	}
	return checkText("reason", reason, MaxDescription)
}

func (req reversalReq) validate() error {
	if !transferIDs.MatchString(req.TransferID) {
		return invalid("invalid_transfer_id", "transfer_id", "transfer_id must be the id of a posted transfer")
	}
	if req.Amount != nil {
		if err := bank.ValidateAmount(*req.Amount); err != nil {
			return fieldErr("amount", err)
		}
	}
	return checkReason(req.Reason)
}

func (s *Server) requestReversal(w http.ResponseWriter, r *http.Request) error {
	return moveMoney(s, w, r, "reversal_request", http.StatusCreated, reversalLocation, func(req reversalReq, idem ledger.Idem) (bank.Reversal, bool, error) {
		auditAbout(r, req.TransferID)
		t, err := s.l.Transfer(r.Context(), req.TransferID)
		if err == nil {
			err = s.notPartyToTransfer(r, t)
		}
		if err != nil {
			return bank.Reversal{}, false, fieldErr("transfer_id", err)
		}
		var amount int64 // 0: all that remains unreversed
		if req.Amount != nil {
			amount = *req.Amount
		}
		return s.l.RequestReversal(r.Context(), ledger.ReversalRequest{TransferID: t.ID, Amount: amount, Reason: req.Reason,
			RequestedBy: userOf(r).ID, Idem: idem})
	})
}

func (s *Server) listReversals(w http.ResponseWriter, r *http.Request) error {
	status := bank.ReversalStatus(r.URL.Query().Get("status"))
	switch status {
	case "":
		status = bank.ReversalPending
	case bank.ReversalPending, bank.ReversalApproved, bank.ReversalRejected:
	default:
		return invalid("invalid_status", "status", "status must be pending, approved or rejected")
	}
	rvs, err := s.l.Reversals(r.Context(), status, 100)
	return reply(w, http.StatusOK, map[string]any{"reversals": rvs}, err)
}

// pathReversal is the reversal the route's {id} names.
func (s *Server) pathReversal(r *http.Request) (bank.Reversal, error) {
	id := chi.URLParam(r, "id")
	if !reversalIDs.MatchString(id) {
		return bank.Reversal{}, bank.ErrReversalNotFound
	}
	return s.l.Reversal(r.Context(), id)
}

func (s *Server) getReversal(w http.ResponseWriter, r *http.Request) error {
	rv, err := s.pathReversal(r)
	return reply(w, http.StatusOK, rv, err)
}

// decidable is the route's reversal, for an admin who may decide it (the
// permission table lets only admins here; that it is not the requester,
// the ledger checks).
func (s *Server) decidable(r *http.Request) (bank.Reversal, error) {
	rv, err := s.pathReversal(r)
	if err != nil {
		return bank.Reversal{}, err
	}
	return rv, s.notPartyToTransfer(r, bank.Transfer{From: rv.From, To: rv.To})
}

// approveReversal is one Redis round trip, like cash: the ledger's
// script checks the token, the role, the reversal and that its transfer
// touches none of the admin's own accounts, then decides it (four eyes,
// funds...) with its audit entry, in one step (oneWrite). An id of the
// wrong shape is refused by approveReversalChecked behind the
// authenticate chain, as before.
func (s *Server) approveReversal(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !reversalIDs.MatchString(id) {
		return s.slowly(w, r, s.approveReversalChecked)
	}
	action := auditActions[route(r)]
	return oneWrite(s, w, r, string(bank.PostingReversal), http.StatusOK, nil, func(who ledger.Caller, _ noFields, idem ledger.Idem) (bank.Reversal, bool, error) {
		rv, replayed, err := s.l.ApproveReversalAs(r.Context(), who, action, id, idem)
		return rv, replayed, err
	}, nil)
}

func (s *Server) approveReversalChecked(w http.ResponseWriter, r *http.Request) error {
	return moveMoney(s, w, r, string(bank.PostingReversal), http.StatusOK, nil, func(_ noFields, idem ledger.Idem) (bank.Reversal, bool, error) {
		rv, err := s.decidable(r)
		if err != nil {
			return bank.Reversal{}, false, err
		}
		return s.l.ApproveReversal(r.Context(), rv.ID, userOf(r).ID, idem)
	})
}

type rejectReq struct {
	Reason string `json:"reason"`
}

// rejectReversal moves no money and rejecting twice returns the first
// decision, so it takes no Idempotency-Key.
func (s *Server) rejectReversal(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[rejectReq](s, w, r)
	if err != nil {
		return err
	}
	if err := checkReason(req.Reason); err != nil {
		return err
	}
	rv, err := s.decidable(r)
	if err != nil {
		return err
	}
	rv, _, err = s.l.RejectReversal(r.Context(), rv.ID, userOf(r).ID, req.Reason, ledger.Idem{})
	return reply(w, http.StatusOK, rv, err)
}
