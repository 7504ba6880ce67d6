package api

// Routes of /v1/transfers.

import (
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

func transferLocation(t bank.Transfer) string { return "/v1/transfers/" + t.ID }

type transferReq struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

func (req transferReq) validate() error {
	return firstError(checkNumber("from", req.From), checkNumber("to", req.To),
		checkMoney(req.Amount, req.Currency), checkText("description", req.Description, MaxDescription))
}

// transferRoute is the permission table's name of POST /v1/transfers.
const transferRoute = "POST /v1/transfers"

// transfer is the bank's hottest route, so it is one Redis round trip:
// it is served outside the authenticate middleware, and the ledger's
// script checks the token, the role (the permission table's, passed in),
// the ownership of the sending account and the receiver, as
// authenticate, permit and receiver do elsewhere, in the
// same step as the posting.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request) error {
	tok, err := bearerToken(r)
	if err != nil {
		return err
	}
	who := callerOf(tok, transferRoute)
	return moveMoney(s, w, r, string(bank.PostingTransfer), http.StatusCreated, transferLocation, func(req transferReq, idem ledger.Idem) (bank.Transfer, bool, error) {
		t, replayed, err := s.l.PostAs(r.Context(), who,
			ledger.Posting{From: req.From, To: req.To, Amount: req.Amount, Currency: req.Currency,
				Kind: bank.PostingTransfer, Description: req.Description, Touch: ledger.TouchFrom, Idem: idem})
		return t, replayed, forbiddenFor(who.Allowed, err)
	})
}

// transferIDs are the shapes of transfer ids (TransferID in
// openapi.yaml): the journal's, tr_<sender>_<its entry's stream id>
// (money.lua's post), and those of older releases, kept by the postings
// they made: random ones and the deterministic ones of interest (account
// + day) and standing orders (order + due date).
var transferIDs = regexp.MustCompile(`^(tr_[0-9]{10}_[1-9][0-9]{0,18}-(0|[1-9][0-9]{0,18})|tr_[0-9a-f]{24}|in_[0-9]{10}_[0-9]{4}-[0-9]{2}-[0-9]{2}|so_[0-9a-f]{24}_[0-9]{4}-[0-9]{2}-[0-9]{2})$`)

// getTransfer is one Redis round trip, like an account's reads: the
// ledger's script checks the token, the role and who may see the
// transfer (visible's rule) in the step that reads it; an id of the
// wrong shape is refused behind the authenticate chain, as before.
func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !transferIDs.MatchString(id) {
		return s.slowly(w, r, s.getTransferChecked)
	}
	return s.oneRead(w, r, func(who ledger.Caller) error {
		t, err := s.l.TransferAs(r.Context(), who, id)
		return reply(w, http.StatusOK, t, err)
	}, s.getTransferChecked)
}

func (s *Server) getTransferChecked(w http.ResponseWriter, r *http.Request) error {
	t, err := visible(s, r, transferIDs, bank.ErrTransferNotFound, s.l.Transfer, func(t bank.Transfer) []string { return []string{t.From, t.To} })
	return reply(w, http.StatusOK, t, err)
}
