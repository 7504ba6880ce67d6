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
)

// scriptPostOnce wraps transfer.lua as a Lua function so that postings
// made once per business key follow exactly the same rules as any other.
var scriptPostOnce = luascript.New(7, moneyLua,
	luascript.Function("transfer_script", luascript.Read(scripts, "transfer")), luascript.Read(scripts, "post_once"))

// Outcome of PostOnce.
type Outcome struct {
	Executed   bool   // money moved (now or by an earlier run)
	TransferID string // when Executed
	Code       string // the refusal's error code when not Executed
	Replayed   bool   // the outcome was recorded by an earlier run
	Guarded    bool   // the guard did not hold: nothing posted, nothing recorded
}

// Guard is a condition PostOnceIf checks atomically with the posting: the
// field Field of the hash Key (a key under "bank:") must equal Value.
type Guard struct {
	Key, Field, Value string
}

// PostOnce posts p unless an outcome is already recorded under field in
// the hash outcomeKey (a key under "bank:"), and records the outcome —
// executed or failed with the refusal's code — in the same atomic step.
// Business refusals (insufficient funds, frozen, ...) are outcomes, not
// errors: they are recorded and never retried. Errors are only transport
// or validation failures, after which nothing was recorded.
func (l *Ledger) PostOnce(ctx context.Context, p Posting, outcomeKey, field string) (Outcome, error) {
	return l.PostOnceIf(ctx, p, outcomeKey, field, Guard{})
}

// PostOnceIf is PostOnce that, unless an outcome is already recorded, also
// requires g to hold in the same atomic step; when it does not, nothing is
// posted or recorded and the Outcome says Guarded. A zero Guard always
// holds. Standing orders guard on their status so that a cancel
// acknowledged before the script runs is never overtaken by a payment.
func (l *Ledger) PostOnceIf(ctx context.Context, p Posting, outcomeKey, field string, g Guard) (Outcome, error) {
	if g != (Guard{}) && (!strings.HasPrefix(g.Key, keyspace.Root) || g.Field == "") {
		return Outcome{}, fmt.Errorf("ledger: a PostOnce guard needs a bank: key and a field")
	}
	if !strings.HasPrefix(outcomeKey, keyspace.Root) || field == "" {
		return Outcome{}, fmt.Errorf("ledger: PostOnce needs a bank: key and a field")
	}
	if err := ValidatePosting(p); err != nil {
		return Outcome{}, err
	}
	if p.Kind == "" {
		p.Kind = bank.PostingTransfer
	}
	c, err := l.conn(ctx)
	if err != nil {
		return Outcome{}, err
	}
	defer c.Close()
	amount := strconv.FormatInt(p.Amount, 10)
	vals, err := redis.Strings(l.move(ctx, c, scriptPostOnce,
		accountKey(p.From), accountKey(p.To), journalKey(p.From), journalKey(p.To),
		outcomeKey, KeyOutbox, g.Key,
		amount, "-"+amount, p.Currency, l.nowMs(), p.Kind, p.Description, "",
		int64(l.IdempotencyTTL.Seconds()), p.InitiatedBy, string(p.Touch), bank.MaxBalance, field,
		g.Field, g.Value))
	if err != nil {
		return Outcome{}, fmt.Errorf("ledger: %w", err)
	}
	if vals[0] == "guarded" {
		return Outcome{Guarded: true}, nil
	}
	o := Outcome{Replayed: vals[0] == "done"}
	kind, detail, _ := strings.Cut(vals[1], ":")
	if kind == "executed" {
		o.Executed, o.TransferID = true, detail
	} else {
		o.Code = detail
	}
	return o, nil
}
