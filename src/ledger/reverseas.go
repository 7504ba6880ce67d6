package ledger

import (
	"context"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/requestid"
)

// scriptApproveAs is reverse.lua behind reverse_as.lua's checks (who
// asks, their role, the reversal, none of their own accounts): an
// admin's approval, with its audit entry, in one round trip.
var scriptApproveAs = luascript.New(5, moneyLua, luascript.Read(scripts, "as_caller"),
	luascript.Function("reverse_script", luascript.Read(scripts, "reverse")), luascript.Read(scripts, "reverse_as"))

// ErrOwnTransfer refuses staff deciding the reversal of a transfer of
// their own accounts.
var ErrOwnTransfer = bank.Errorf(bank.KindForbidden, "own_account", "staff cannot reverse transfers of their own accounts")

// ApproveReversalAs authenticates the caller and approves the pending
// reversal id for them in one script: token, role, the reversal, none of
// the caller's own accounts, then ApproveReversal's rules (four eyes,
// what remains unreversed, funds and status), idempotency scoped to the
// caller, the audit entry of the approval (action, as audit names it) or
// of its refusal, and the reversal's record. A refusal the script returns
// is already on the audit trail when the caller is staff.
func (l *Ledger) ApproveReversalAs(ctx context.Context, who Caller, action, id string, idem Idem) (bank.Reversal, bool, error) {
	c, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Reversal{}, false, err
	}
	defer c.Close()
	v, err := l.move(ctx, c, scriptApproveAs,
		keyspace.Token+who.TokenHash, reversalKey(id), reversalsKey(bank.ReversalPending), reversalsKey(bank.ReversalApproved), KeyOutbox,
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), idem.Key, idem.Hash, int64(l.IdempotencyTTL.Seconds()), bank.MaxBalance,
		keyspace.Idempotency, requestid.From(ctx), action, id)
	return runAs("", reversalFrom, v, err)
}
