package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/redishash"
	"github.com/kubebank/kubebank/src/requestid"
)

// scriptTransferAs and scriptHoldAs are transfer.lua and
// hold_authorize.lua behind as_caller.lua's checks: one script each, so
// that a customer's transfer or hold is one round trip.
var (
	scriptTransferAs = luascript.New(6, moneyLua, luascript.Read(scripts, "as_caller"),
		luascript.Function("transfer_script", luascript.Read(scripts, "transfer")), luascript.Read(scripts, "transfer_as"))
	scriptHoldAs = luascript.New(6, moneyLua, luascript.Read(scripts, "as_caller"),
		luascript.Function("authorize_script", luascript.Read(scripts, "hold_authorize")), luascript.Read(scripts, "hold_as"))
	scriptSettleAs = luascript.New(4, moneyLua, luascript.Read(scripts, "as_caller"),
		luascript.Function("settle_script", luascript.Read(scripts, "hold_settle")), luascript.Read(scripts, "settle_as"))
)

// Caller is who asks for a posting as the API knows them before Redis is
// asked: the SHA-256 of their bearer token (auth.HashToken), the roles the
// route allows, and the staff roles, who see every account but spend
// only their own.
type Caller struct {
	TokenHash string
	Allowed   []bank.Role
	Staff     []bank.Role
}

// The refusals PostAs adds to the posting's own.
var (
	ErrForbidden      = bank.Errorf(bank.KindForbidden, "forbidden", "this route is not open to your role")
	ErrNotOwner       = bank.Errorf(bank.KindForbidden, "not_account_owner", "money can only be moved out of your own accounts")
	errReceiverAbsent = "receiver_not_found"
)

// PostAs authenticates the caller and makes their transfer p (from an
// account of theirs to a customer account) in one script: token, role,
// ownership, the posting's own rules, idempotency scoped to the caller
// (p.Idem.Scope is not used: the script knows who asks) and the record the
// answer needs, in one round trip. It returns the transfer and whether it
// was a replay.
func (l *Ledger) PostAs(ctx context.Context, who Caller, p Posting) (t bank.Transfer, replayed bool, err error) {
	p, err = p.prepared()
	if err != nil {
		return bank.Transfer{}, false, err
	}
	c, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Transfer{}, false, err
	}
	defer c.Close()
	v, err := l.move(ctx, c, scriptTransferAs,
		keyspace.Token+who.TokenHash, accountKey(p.From), accountKey(p.To), journalKey(p.From), journalKey(p.To), KeyOutbox,
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), p.Idem.Key, p.Idem.Hash, int64(l.IdempotencyTTL.Seconds()),
		strconv.FormatInt(p.Amount, 10), p.Currency, p.Kind, p.Description, string(p.Touch), bank.MaxBalance,
		keyspace.Idempotency, requestid.From(ctx))
	return runAs(p.To, transferFrom, v, err)
}

// AuthorizeAs authenticates the caller and authorises their hold r (on
// an account of theirs, for a customer payee) in one script, as PostAs
// does for a transfer (r.Idem.Scope and r.InitiatedBy are the script's).
func (l *Ledger) AuthorizeAs(ctx context.Context, who Caller, r HoldRequest) (h bank.Hold, replayed bool, err error) {
	ttl, err := checkHold(r)
	if err != nil {
		return bank.Hold{}, false, err
	}
	c, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Hold{}, false, err
	}
	defer c.Close()
	id := NewID("hd")
	now := l.Now()
	v, err := l.move(ctx, c, scriptHoldAs,
		keyspace.Token+who.TokenHash, accountKey(r.Account), accountKey(r.Payee), holdKey(id), keyspace.HoldExpiry, acctHoldsKey(r.Account),
		now.UnixMilli(), roleList(who.Allowed), roleList(who.Staff), r.Idem.Key, r.Idem.Hash, int64(l.IdempotencyTTL.Seconds()),
		r.Amount, r.Currency, id, now.Add(ttl).UnixMilli(), r.Description, keyspace.Idempotency, keyspace.Hold, requestid.From(ctx))
	return runAs(r.Payee, holdFrom, v, err)
}

// CaptureAs captures a hold for the caller (the held account's or the
// payee's owner) in one script: amount 0 captures all that is held.
func (l *Ledger) CaptureAs(ctx context.Context, who Caller, holdID string, amount int64, desc string, idem Idem) (bank.Hold, bool, error) {
	a := ""
	if amount != 0 {
		if err := bank.ValidateAmount(amount); err != nil {
			return bank.Hold{}, false, err
		}
		a = strconv.FormatInt(amount, 10)
	}
	if err := checkDescription(desc); err != nil {
		return bank.Hold{}, false, err
	}
	return l.settleAs(ctx, who, "capture", holdID, a, desc, idem)
}

// VoidAs releases a hold for the caller (a party, or staff) in one script.
func (l *Ledger) VoidAs(ctx context.Context, who Caller, holdID string, idem Idem) (bank.Hold, bool, error) {
	return l.settleAs(ctx, who, "void", holdID, "0", "", idem)
}

func (l *Ledger) settleAs(ctx context.Context, who Caller, action, holdID, amount, desc string, idem Idem) (bank.Hold, bool, error) {
	c, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Hold{}, false, err
	}
	defer c.Close()
	v, err := l.move(ctx, c, scriptSettleAs,
		keyspace.Token+who.TokenHash, holdKey(holdID), keyspace.HoldExpiry, KeyOutbox,
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), action, amount, idem.Key, idem.Hash, int64(l.IdempotencyTTL.Seconds()),
		bank.MaxBalance, desc, keyspace.Idempotency, keyspace.Account, keyspace.Journal, requestid.From(ctx), holdID)
	return runAs("", holdFrom, v, err)
}

// runAs decodes the reply of an *_as.lua script: its status and the
// record, decoded by decode; a refusal names the receiver.
func runAs[T any](receiver string, decode func(*redishash.Fields) T, v any, err error) (rec T, replayed bool, _ error) {
	var zero T
	if err != nil {
		return zero, false, refusalAs(err, receiver)
	}
	reply, err := redis.Values(v, nil)
	if err != nil || len(reply) != 2 {
		return zero, false, fmt.Errorf("ledger: script answered %v (%v)", v, err)
	}
	status, _ := redis.String(reply[0], nil)
	m, err := redis.StringMap(reply[1], nil)
	if err != nil || len(m) == 0 {
		return zero, false, fmt.Errorf("ledger: script answered no record: %v", err)
	}
	f := redishash.New(m["id"], m)
	rec = decode(f)
	if err := f.Err(); err != nil {
		return zero, false, fmt.Errorf("ledger: %w", err)
	}
	return rec, status == "replay", nil
}

// refusalAs names the caller's refusals of transfer_as.lua; the posting's
// own go through decodeReply's mapping.
func refusalAs(err error, to string) error {
	e, ok := luascript.Refusal(err)
	if !ok {
		return luascript.Error("ledger", err)
	}
	switch e.Code {
	case bank.ErrUnauthorized.Code:
		return bank.ErrUnauthorized
	case ErrForbidden.Code:
		return ErrForbidden
	case ErrNotOwner.Code:
		return ErrNotOwner
	case ErrOwnAccount.Code:
		return ErrOwnAccount
	case "own_transfer":
		return ErrOwnTransfer
	case errReceiverAbsent:
		return bank.Errorf(bank.KindNotFound, "account_not_found", "the receiving account %s does not exist", to)
	case "not_party":
		return bank.Errorf(bank.KindForbidden, "not_account_owner", "only the payer or the payee can capture a hold")
	}
	return luascript.Error("ledger", err)
}

func roleList(roles []bank.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " ")
}
