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
)

// scriptTransferAs is transfer.lua behind the caller's checks: one script,
// so that a customer's transfer is one round trip.
var scriptTransferAs = luascript.New(7, luascript.Read(scripts, "money"),
	luascript.Function("transfer_script", luascript.Read(scripts, "transfer")), luascript.Read(scripts, "transfer_as"))

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
	ErrUnauthorized   = bank.Errorf(bank.KindUnauthorized, "unauthorized", "a valid bearer token is required")
	ErrForbidden      = bank.Errorf(bank.KindForbidden, "forbidden", "this route is not open to your role")
	ErrNotOwner       = bank.Errorf(bank.KindForbidden, "not_account_owner", "money can only be moved out of your own accounts")
	errReceiverAbsent = "receiver_not_found"
)

// PostAs authenticates the caller and makes their transfer p (from an
// account of theirs to a customer account) in one script: token, role,
// ownership, the posting's own rules, idempotency scoped to the caller
// (p.Idem.Scope is not used: the script knows who asks) and the record the
// answer needs, in one round trip. It returns the transfer, whether it
// was a replay, and the caller's user id.
func (l *Ledger) PostAs(ctx context.Context, who Caller, p Posting) (t bank.Transfer, userID string, replayed bool, err error) {
	if err := ValidatePosting(p); err != nil {
		return bank.Transfer{}, "", false, err
	}
	if p.Kind == "" {
		p.Kind = bank.PostingTransfer
	}
	id := p.ID
	if id == "" {
		id = NewID("tr")
	}
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Transfer{}, "", false, err
	}
	defer c.Close()
	reply, err := redis.Values(scriptTransferAs.DoContext(ctx, c,
		keyspace.Token+who.TokenHash, accountKey(p.From), accountKey(p.To), journalKey(p.From), journalKey(p.To), transferKey(id), KeyOutbox,
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), p.Idem.Key, p.Idem.Hash, int64(l.IdempotencyTTL.Seconds()),
		strconv.FormatInt(p.Amount, 10), p.Currency, id, p.Kind, p.Description, string(p.Touch), bank.MaxBalance,
		keyspace.Idempotency, keyspace.Transfer))
	if err != nil {
		return bank.Transfer{}, "", false, refusalAs(err, p.To)
	}
	if len(reply) != 3 {
		return bank.Transfer{}, "", false, fmt.Errorf("ledger: transfer script answered %d values", len(reply))
	}
	status, _ := redis.String(reply[0], nil)
	userID, _ = redis.String(reply[1], nil)
	m, err := redis.StringMap(reply[2], nil)
	if err != nil || len(m) == 0 {
		return bank.Transfer{}, "", false, fmt.Errorf("ledger: transfer script answered no record: %v", err)
	}
	f := redishash.New(transferKey(m["id"]), m)
	t = transferFrom(f)
	if err := f.Err(); err != nil {
		return bank.Transfer{}, "", false, fmt.Errorf("ledger: %w", err)
	}
	return t, userID, status == "replay", nil
}

// refusalAs names the caller's refusals of transfer_as.lua; the posting's
// own go through decodeReply's mapping.
func refusalAs(err error, to string) error {
	e, ok := luascript.Refusal(err)
	if !ok {
		return luascript.Error("ledger", err)
	}
	switch e.Code {
	case ErrUnauthorized.Code:
		return ErrUnauthorized
	case ErrForbidden.Code:
		return ErrForbidden
	case ErrNotOwner.Code:
		return ErrNotOwner
	case errReceiverAbsent:
		return bank.Errorf(bank.KindNotFound, "account_not_found", "the receiving account %s does not exist", to)
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
