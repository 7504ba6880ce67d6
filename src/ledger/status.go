package ledger

import (
	"context"
	"time"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
)

// Status actions for SetStatus.
const (
	ActionFreeze   = "freeze"
	ActionUnfreeze = "unfreeze"
	ActionClose    = "close"
)

// SetStatus freezes, unfreezes or closes an account (closing only at zero
// balance with no holds).
func (l *Ledger) SetStatus(ctx context.Context, number, action string) (bank.Account, error) {
	switch action {
	case ActionFreeze, ActionUnfreeze, ActionClose:
	default:
		return bank.Account{}, bank.Errorf(bank.KindInvalid, "invalid_action", "unknown status action %q", action)
	}
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Account{}, err
	}
	_, _, err = decodeReply(scriptStatus.DoContext(ctx, c, accountKey(number), action, l.nowMs(), 0, audit.Arg(ctx)))
	c.Close()
	if err != nil {
		return bank.Account{}, err
	}
	return l.Account(ctx, number)
}

// MarkDormant flags an active account whose last customer activity is
// before cutoff. It reports whether the status changed; running it again
// changes nothing.
func (l *Ledger) MarkDormant(ctx context.Context, number string, cutoff time.Time) (bool, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	status, _, err := decodeReply(scriptStatus.DoContext(ctx, c, accountKey(number), "dormant", l.nowMs(), cutoff.UnixMilli(), ""))
	return status == "ok", err
}
