// Package audit is the bank's audit trail: an append-only log of every
// staff action and every refused staff attempt, with who (actor and role),
// what (action, target, accounts, details), when, under which request id,
// and how it ended.
//
// Where the action is a Redis write, the entry is written by the script
// that does the write, in the same atomic step (lib.lua's audit): the
// caller puts a Record in the request's context (NewContext), the ledger
// and auth pass it to their scripts (Arg), and an action can then not
// happen without its entry, nor an entry appear for an action that did
// not. What writes nothing (a refusal, a job run from the command line)
// is appended on its own (Log.Append).
package audit

import (
	"context"
	"encoding/json"

	"github.com/kubebank/kubebank/src/bank"
)

// Actions the trail records. The names are the contract auditors filter
// on: add new ones, never rename.
const (
	CashDeposit      = "cash.deposit"
	CashWithdrawal   = "cash.withdrawal"
	AccountFreeze    = "account.freeze"
	AccountUnfreeze  = "account.unfreeze"
	AccountClose     = "account.close"
	AccountOverdraft = "account.overdraft"
	ReversalRequest  = "reversal.request"
	ReversalApprove  = "reversal.approve"
	ReversalReject   = "reversal.reject"
	UserCreate       = "user.create"
	UserRole         = "user.role"
	JobRun           = "job.run"
)

// Outcomes of an entry.
const (
	OK      = "ok"
	Refused = "refused"
)

// Operator is the role of someone at the command line (bank admin, bank
// jobs run), who holds the pod's credentials rather than a bank login.
const Operator bank.Role = "operator"

// Record is an entry before it is written: the caller knows who asks and
// for what; the script that does it adds what it did (Detail), the log its
// id and time.
type Record struct {
	Actor     string            `json:"actor"`                // a user id, or an operator's name
	ActorName string            `json:"actor_name,omitempty"` // the username, for people reading the trail
	Role      bank.Role         `json:"role"`
	Action    string            `json:"action"`
	Target    string            `json:"target"`             // what the action is about: an account, a reversal, a user, a job
	Accounts  []string          `json:"accounts,omitempty"` // the accounts it concerns, for the per-account index
	RequestID string            `json:"request_id"`
	Outcome   string            `json:"outcome,omitempty"` // OK when empty
	Code      string            `json:"code,omitempty"`    // a refusal's problem code
	Detail    map[string]string `json:"detail,omitempty"`
}

type ctxKey struct{}

// NewContext returns ctx carrying rec: the scripts run under ctx write it
// with what they do.
func NewContext(ctx context.Context, rec *Record) context.Context {
	return context.WithValue(ctx, ctxKey{}, rec)
}

// FromContext is the record ctx carries, or nil.
func FromContext(ctx context.Context) *Record {
	rec, _ := ctx.Value(ctxKey{}).(*Record)
	return rec
}

// Arg is the script argument for the record ctx carries: its JSON, or ""
// when ctx carries none (the action is no staff action: nothing is
// written).
func Arg(ctx context.Context) string { return ArgFor(ctx, "") }

// ArgFor is Arg with target as the record's target when it names none:
// what the action creates (a user) has its id only once it is made.
func ArgFor(ctx context.Context, target string) string {
	rec := FromContext(ctx)
	if rec == nil {
		return ""
	}
	r := *rec
	if r.Target == "" {
		r.Target = target
	}
	b, err := json.Marshal(r)
	if err != nil { // a struct of strings always encodes
		panic(err)
	}
	return string(b)
}
