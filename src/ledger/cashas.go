package ledger

import (
	"context"
	"strconv"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/requestid"
)

// scriptCashAs is transfer.lua behind cash_as.lua's checks (who asks,
// their role, the customer's account, not the teller's own): a teller's
// deposit or withdrawal, with its audit entry, in one round trip.
var scriptCashAs = luascript.New(6, moneyLua, luascript.Read(scripts, "as_caller"),
	luascript.Function("transfer_script", luascript.Read(scripts, "transfer")), luascript.Read(scripts, "cash_as"))

// ErrOwnAccount refuses staff handling money or status of an account of
// their own: nobody serves themselves at the counter.
var ErrOwnAccount = bank.Errorf(bank.KindForbidden, "own_account", "staff cannot perform teller or admin actions on their own accounts")

// Cash is cash paid in (a deposit) or out (a withdrawal) at a teller for
// the customer account Account.
type Cash struct {
	Kind        bank.PostingKind // bank.PostingDeposit or bank.PostingWithdrawal
	Account     string
	Amount      int64
	Currency    string
	Description string
	Idem        Idem // Scope is not used: the script knows who asks
}

// posting is the movement c makes between the account and the teller
// cash of its currency, with the default description of its kind.
func (c Cash) posting() (Posting, error) {
	cash, err := SystemAccount(bank.PurposeTellerCash, c.Currency)
	if err != nil {
		return Posting{}, err
	}
	p := Posting{From: cash, To: c.Account, Amount: c.Amount, Currency: c.Currency, Kind: c.Kind, Description: c.Description,
		Touch: TouchTo, Idem: c.Idem}
	switch c.Kind {
	case bank.PostingDeposit:
		if p.Description == "" {
			p.Description = "Cash deposit"
		}
	case bank.PostingWithdrawal:
		p.From, p.To, p.Touch = c.Account, cash, TouchFrom
		if p.Description == "" {
			p.Description = "Cash withdrawal"
		}
	default:
		return Posting{}, bank.Errorf(bank.KindInvalid, "invalid_kind", "cash is a deposit or a withdrawal, not %q", c.Kind)
	}
	return p, nil
}

// CashAs authenticates the caller and makes their cash movement c in one
// script: token, role, the account (there, a customer's, not the
// caller's own), the posting's own rules, idempotency scoped to the
// caller, the audit entry of the action (action, as audit names it) or
// of its refusal, and the record the answer needs. It returns the
// transfer and whether it was a replay. A refusal the
// script returns is already on the audit trail when the caller is staff.
func (l *Ledger) CashAs(ctx context.Context, who Caller, action string, c Cash) (bank.Transfer, bool, error) {
	p, err := c.posting()
	if err != nil {
		return bank.Transfer{}, false, err
	}
	p, err = p.prepared()
	if err != nil {
		return bank.Transfer{}, false, err
	}
	conn, err := l.scriptConn(ctx)
	if err != nil {
		return bank.Transfer{}, false, err
	}
	defer conn.Close()
	v, err := l.move(ctx, conn, scriptCashAs,
		keyspace.Token+who.TokenHash, accountKey(p.From), accountKey(p.To), journalKey(p.From), journalKey(p.To), KeyOutbox,
		l.nowMs(), roleList(who.Allowed), roleList(who.Staff), p.Idem.Key, p.Idem.Hash, int64(l.IdempotencyTTL.Seconds()),
		strconv.FormatInt(p.Amount, 10), p.Currency, p.Kind, p.Description, string(p.Touch), bank.MaxBalance,
		keyspace.Idempotency, requestid.From(ctx), action, c.Account)
	return runAs(c.Account, transferFrom, v, err)
}
