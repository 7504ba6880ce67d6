package ledger

import (
	"context"
	"strings"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/redishash"
)

var (
	scriptReversalRequest = loadScript(4, "reversal_request")
	scriptReverse         = loadScript(10, "reverse")
)

func reversalKey(id string) string                   { return keyspace.Reversal + id }
func reversalsKey(status bank.ReversalStatus) string { return keyspace.Reversals + string(status) }

// ReversalRequest asks to pay back Amount of the posted transfer
// TransferID (0: all that remains unreversed), for Reason.
type ReversalRequest struct {
	TransferID  string
	Amount      int64
	Reason      string
	RequestedBy string
	Idem        Idem
}

func checkReason(field, reason string) error {
	if strings.TrimSpace(reason) == "" || len(reason) > MaxDescription {
		return bank.Errorf(bank.KindInvalid, "invalid_"+field, "%s is required, at most %d bytes", field, MaxDescription)
	}
	return nil
}

// RequestReversal records a pending reversal. No money moves until a
// different admin approves it (ApproveReversal).
func (l *Ledger) RequestReversal(ctx context.Context, req ReversalRequest) (bank.Reversal, bool, error) {
	if req.Amount != 0 {
		if err := bank.ValidateAmount(req.Amount); err != nil {
			return bank.Reversal{}, false, err
		}
	}
	if err := checkReason("reason", req.Reason); err != nil {
		return bank.Reversal{}, false, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Reversal{}, false, err
	}
	defer c.Close()
	id := NewID("rv")
	status, rid, err := decodeReply(scriptReversalRequest.DoContext(ctx, c,
		transferKey(req.TransferID), reversalKey(id), reversalsKey(bank.ReversalPending), idemKey(req.Idem.Scope, req.Idem.Key),
		id, req.Amount, req.Reason, req.RequestedBy, l.nowMs(), req.Idem.Hash, int64(l.IdempotencyTTL.Seconds()), audit.Arg(ctx),
		req.TransferID))
	if err != nil {
		return bank.Reversal{}, false, err
	}
	r, err := getReversal(c, rid)
	return r, status == "replay", err
}

// ApproveReversal posts a pending reversal, by an admin (the caller
// checks the role) other than its requester. Approving it again posts
// nothing and returns it as replayed.
func (l *Ledger) ApproveReversal(ctx context.Context, id, by string, idem Idem) (bank.Reversal, bool, error) {
	return l.decideReversal(ctx, "approve", id, by, "", idem)
}

// RejectReversal turns a pending reversal down for reason, by someone
// other than its requester. Rejecting it again returns it as replayed.
func (l *Ledger) RejectReversal(ctx context.Context, id, by, reason string, idem Idem) (bank.Reversal, bool, error) {
	if err := checkReason("reason", reason); err != nil {
		return bank.Reversal{}, false, err
	}
	return l.decideReversal(ctx, "reject", id, by, reason, idem)
}

func (l *Ledger) decideReversal(ctx context.Context, action, id, by, reason string, idem Idem) (bank.Reversal, bool, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Reversal{}, false, err
	}
	defer c.Close()
	// The parties and the original are fixed when the reversal is made:
	// reading them first cannot race with anything the script decides.
	r, err := getReversal(c, id)
	if err != nil {
		return bank.Reversal{}, false, err
	}
	decided := bank.ReversalApproved
	if action == "reject" {
		decided = bank.ReversalRejected
	}
	status, _, err := decodeReply(l.move(ctx, c, scriptReverse,
		reversalKey(id), transferKey(r.TransferID), accountKey(r.From), accountKey(r.To), journalKey(r.From), journalKey(r.To),
		reversalsKey(bank.ReversalPending), reversalsKey(decided), idemKey(idem.Scope, idem.Key), KeyOutbox,
		action, by, l.nowMs(), idem.Hash, int64(l.IdempotencyTTL.Seconds()), bank.MaxBalance, reason, audit.Arg(ctx)))
	if err != nil {
		return bank.Reversal{}, false, err
	}
	r, err = getReversal(c, id)
	return r, status == "replay", err
}

// Reversal returns one reversal.
func (l *Ledger) Reversal(ctx context.Context, id string) (bank.Reversal, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Reversal{}, err
	}
	defer c.Close()
	return getReversal(c, id)
}

// Reversals lists up to limit reversals in status, newest first.
func (l *Ledger) Reversals(ctx context.Context, status bank.ReversalStatus, limit int) ([]bank.Reversal, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return newestOf(c, reversalsKey(status), limit, getReversal)
}

func getReversal(c redis.Conn, id string) (bank.Reversal, error) {
	return readHash(c, reversalKey(id), bank.ErrReversalNotFound, reversalFrom)
}

// reversalFrom decodes a reversal record.
func reversalFrom(f *redishash.Fields) bank.Reversal {
	r := bank.Reversal{
		ID: f.Str("id"), TransferID: f.Str("transfer"), From: f.Str("from"), To: f.Str("to"), Amount: f.Int("amount"),
		Currency: f.Str("currency"), Reason: f.Str("reason"), Status: bank.ReversalStatus(f.Str("status")),
		RequestedBy: f.Str("by"), CreatedAt: f.Millis("created"), DecidedBy: f.Str("decided_by"),
		RejectReason: f.Str("reject_reason"), PostingID: f.Str("posting"),
	}
	if at := f.Millis("decided"); !at.IsZero() {
		r.DecidedAt = &at
	}
	return r
}
