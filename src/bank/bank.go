// Package bank is the domain vocabulary shared by every other package:
// money, currencies, accounts, transfers, holds, users and the error kinds
// that the API maps to HTTP. It has no dependencies beyond the standard
// library so that the ledger, the API, the worker and the web app agree on
// one meaning for each word.
package bank

import (
	"slices"
	"time"
)

// MaxAmount is the largest amount a single posting may move, in minor units.
//
// Balances are kept below MaxBalance so that every value the Lua scripts see
// is an integer exactly representable as a double (Lua 5.1 numbers are
// doubles, exact up to 2^53 ≈ 9.007e15). With |balance| ≤ 1e15 and one
// posting ≤ 1e12, no intermediate sum can leave the exact range.
const (
	MaxAmount  int64 = 1_000_000_000_000     // 10,000,000,000.00 in a 2-decimal currency
	MaxBalance int64 = 1_000_000_000_000_000 // bound on |balance| of any account, system ones included
)

// AccountType is checking, savings, or system (teller cash, interest expense).
type AccountType string

const (
	Checking AccountType = "checking"
	Savings  AccountType = "savings"
	System   AccountType = "system"
)

// Status of an account. Frozen accounts cannot send; closed ones can neither
// send nor receive; dormant ones behave as active but are flagged for review
// and become active again on any customer activity.
type Status string

const (
	Active  Status = "active"
	Frozen  Status = "frozen"
	Dormant Status = "dormant"
	Closed  Status = "closed"
)

// Role of a user.
type Role string

// The roles. Tellers serve customers at the till (cash, look-ups,
// freezing); admins do everything tellers do and run the bank (unfreeze,
// close, limits, reconciliation, jobs); auditors are read-only staff who
// look but never move money or change an account. Which route each role
// may use is the API's permission table.
const (
	Customer Role = "customer"
	Teller   Role = "teller"
	Admin    Role = "admin"
	Auditor  Role = "auditor"
)

// Roles lists every known role.
func Roles() []Role { return []Role{Customer, Teller, Admin, Auditor} }

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == Customer || r.Staff() }

// Staff reports whether the role works for the bank: staff may read every
// customer's accounts, transfers and holds. Auditors are staff but
// read-only (see ReadOnly).
func (r Role) Staff() bool { return r == Teller || r == Admin || r == Auditor }

// ReadOnly reports whether the role may only look: an auditor moves no
// money, not even their own, and changes nothing.
func (r Role) ReadOnly() bool { return r == Auditor }

// The groups of staff roles that the API's permission table and the
// teller console share, so that the two cannot disagree.
var (
	// TillRoles work the till: cash, freezing, asking for reversals.
	TillRoles = []Role{Teller, Admin}
	// AdminRoles alone unfreeze, close, set limits and decide reversals.
	AdminRoles = []Role{Admin}
	// OverseerRoles read the bank's own state: reconciliation, the jobs.
	OverseerRoles = []Role{Admin, Auditor}
)

// In reports whether r is one of roles.
func (r Role) In(roles []Role) bool { return slices.Contains(roles, r) }

// User is a person who can log in.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Account is a ledger account. Balance is the posted balance; Available is
// Balance − Held (the overdraft limit is not included: it says how far
// below zero Available may go).
type Account struct {
	Number         string      `json:"number"`
	Owner          string      `json:"owner,omitempty"`
	Name           string      `json:"name,omitempty"`
	Type           AccountType `json:"type"`
	Currency       string      `json:"currency"`
	Status         Status      `json:"status"`
	Balance        int64       `json:"balance"`
	Held           int64       `json:"held"`
	Available      int64       `json:"available"`
	OverdraftLimit int64       `json:"overdraft_limit"`
	InterestRate   int64       `json:"interest_rate_bps"`
	CreatedAt      time.Time   `json:"created_at"`
	LastActivity   time.Time   `json:"last_activity"`
}

// PostingKind is what caused a posting (not to be confused with Kind, the
// kind of an error).
type PostingKind string

// Posting kinds.
const (
	PostingTransfer      PostingKind = "transfer"
	PostingDeposit       PostingKind = "deposit"
	PostingWithdrawal    PostingKind = "withdrawal"
	PostingCapture       PostingKind = "capture"
	PostingInterest      PostingKind = "interest"
	PostingStandingOrder PostingKind = "standing_order"
	// PostingReversal pays back (part of) an earlier posting: from its
	// payee to its payer, approved by a second admin (see Reversal).
	PostingReversal PostingKind = "reversal"
)

// TransferStatus is a transfer's state; every stored transfer is completed.
type TransferStatus string

// TransferCompleted is the status of a posted transfer.
const TransferCompleted TransferStatus = "completed"

// Transfer is one balanced posting: From is debited, To credited, by Amount.
type Transfer struct {
	ID          string         `json:"id"`
	Kind        PostingKind    `json:"kind"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	Amount      int64          `json:"amount"`
	Currency    string         `json:"currency"`
	Description string         `json:"description"`
	HoldID      string         `json:"hold_id,omitempty"`
	InitiatedBy string         `json:"initiated_by,omitempty"`
	Status      TransferStatus `json:"status"`
	CreatedAt   time.Time      `json:"created_at"`
	// Reversed is how much of this transfer approved reversals have paid
	// back so far, Reversals their ids, oldest first.
	Reversed  int64    `json:"reversed,omitempty"`
	Reversals []string `json:"reversals,omitempty"`
	// ReversalOf and ReversalID are set on a reversal posting: the
	// transfer it pays back and the reversal that approved it.
	ReversalOf string `json:"reversal_of,omitempty"`
	ReversalID string `json:"reversal_id,omitempty"`
}

// ReversalStatus is where a reversal is in its life: pending until a
// second admin approves (the money moves) or rejects it.
type ReversalStatus string

// Reversal statuses.
const (
	ReversalPending  ReversalStatus = "pending"
	ReversalApproved ReversalStatus = "approved"
	ReversalRejected ReversalStatus = "rejected"
)

// Reversal is a staff request to pay back Amount of the posted transfer
// TransferID, from its payee (From) to its payer (To). A different admin
// than RequestedBy decides it; an approval posts PostingID.
type Reversal struct {
	ID           string         `json:"id"`
	TransferID   string         `json:"transfer_id"`
	From         string         `json:"from"`
	To           string         `json:"to"`
	Amount       int64          `json:"amount"`
	Currency     string         `json:"currency"`
	Reason       string         `json:"reason"`
	Status       ReversalStatus `json:"status"`
	RequestedBy  string         `json:"requested_by"`
	CreatedAt    time.Time      `json:"created_at"`
	DecidedBy    string         `json:"decided_by,omitempty"`
	DecidedAt    *time.Time     `json:"decided_at,omitempty"`
	RejectReason string         `json:"reject_reason,omitempty"`
	PostingID    string         `json:"posting_id,omitempty"`
}

// HoldStatus is where a hold is in its life.
type HoldStatus string

// Hold statuses.
const (
	HoldAuthorized HoldStatus = "authorized"
	HoldCaptured   HoldStatus = "captured"
	HoldVoided     HoldStatus = "voided"
	HoldExpired    HoldStatus = "expired"
)

// Hold reserves money on Account for a later capture to Payee.
type Hold struct {
	ID          string     `json:"id"`
	Account     string     `json:"account"`
	Payee       string     `json:"payee"`
	Amount      int64      `json:"amount"`
	Captured    int64      `json:"captured"`
	Currency    string     `json:"currency"`
	Description string     `json:"description"`
	Status      HoldStatus `json:"status"`
	TransferID  string     `json:"transfer_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	InitiatedBy string     `json:"initiated_by,omitempty"`
}

// Entry is one line of an account's journal. Amount is signed: negative for
// money leaving the account.
type Entry struct {
	ID           string      `json:"id"`
	Time         time.Time   `json:"time"`
	Amount       int64       `json:"amount"`
	BalanceAfter int64       `json:"balance_after"`
	Counterparty string      `json:"counterparty"`
	TransferID   string      `json:"transfer_id,omitempty"`
	HoldID       string      `json:"hold_id,omitempty"`
	Kind         PostingKind `json:"kind"`
	Description  string      `json:"description"`
}

// AuditEntry is one entry of the audit trail (package audit): a staff
// action, or a refused attempt at one.
type AuditEntry struct {
	ID        string            `json:"id"` // the stream id: also the cursor
	At        time.Time         `json:"at"`
	Actor     string            `json:"actor"` // a user id, or an operator's name
	ActorName string            `json:"actor_name"`
	Role      Role              `json:"role"`
	Action    string            `json:"action"`
	Target    string            `json:"target"`
	Accounts  []string          `json:"accounts"`
	RequestID string            `json:"request_id"`
	Outcome   string            `json:"outcome"` // ok, refused or error
	Code      string            `json:"code,omitempty"`
	Detail    map[string]string `json:"detail"`
}
