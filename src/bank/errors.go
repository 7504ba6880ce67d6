package bank

import (
	"errors"
	"fmt"
)

// Kind groups errors by how a caller should react; the API maps each kind
// to one HTTP status.
type Kind int

const (
	KindInternal     Kind = iota
	KindInvalid           // the request is malformed: 400
	KindUnauthorized      // no or bad credentials: 401
	KindForbidden         // authenticated but not allowed: 403
	KindNotFound          // does not exist, or not yours: 404
	KindConflict          // clashes with current state (idempotency, duplicates): 409
	KindRejected          // well-formed but refused by a business rule: 422
	KindRateLimited       // too many attempts: 429
)

// Error is a domain error with a stable machine-readable code.
type Error struct {
	Kind    Kind
	Code    string // stable, snake_case; part of the API contract
	Message string // human readable, safe to show to the caller
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, KindInternal for foreign errors.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorCode returns the code of err, "internal" for foreign errors.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// ErrUnauthorized is a request without a valid bearer token: auth's
// answer, and the ledger's when a script that acts for a token (PostAs)
// finds none.
var ErrUnauthorized = &Error{KindUnauthorized, "unauthorized", "a valid bearer token is required"}

// Ledger rule violations. The Lua scripts return these codes verbatim.
var (
	ErrAccountNotFound     = &Error{KindNotFound, "account_not_found", "account not found"}
	ErrHoldNotFound        = &Error{KindNotFound, "hold_not_found", "hold not found"}
	ErrTransferNotFound    = &Error{KindNotFound, "transfer_not_found", "transfer not found"}
	ErrInsufficientFunds   = &Error{KindRejected, "insufficient_funds", "insufficient funds: the amount exceeds the available balance and overdraft limit"}
	ErrAccountFrozen       = &Error{KindRejected, "account_frozen", "the sending account is frozen"}
	ErrAccountClosed       = &Error{KindRejected, "account_closed", "the account is closed"}
	ErrCurrencyMismatch    = &Error{KindRejected, "currency_mismatch", "the currency does not match the account's currency"}
	ErrSameAccount         = &Error{KindRejected, "same_account", "cannot transfer to the same account"}
	ErrBalanceLimit        = &Error{KindRejected, "balance_limit", "the posting would take a balance beyond the supported range"}
	ErrIdempotencyConflict = &Error{KindConflict, "idempotency_conflict", "this Idempotency-Key was already used with a different request"}
	ErrHoldExpired         = &Error{KindRejected, "hold_expired", "the hold has expired"}
	ErrHoldNotActive       = &Error{KindRejected, "hold_not_active", "the hold was already captured, voided or expired"}
	ErrCaptureExceedsHold  = &Error{KindRejected, "capture_exceeds_hold", "the capture amount exceeds the held amount"}
	ErrAccountNotEmpty     = &Error{KindRejected, "account_not_empty", "only an account with zero balance and no holds can be closed"}
	ErrInvalidTransition   = &Error{KindRejected, "invalid_status_transition", "the account's status does not allow this change"}
	ErrSystemAccount       = &Error{KindRejected, "system_account", "system accounts cannot be changed this way"}
	// Exposure limits: per customer, across all their accounts.
	ErrAccountLimitReached  = &Error{KindRejected, "account_limit_reached", "the customer already has the most open accounts allowed"}
	ErrOverdraftCapExceeded = &Error{KindRejected, "overdraft_cap_exceeded", "the customer's overdraft limits in this currency would exceed the total allowed per customer"}
	ErrNotCheckingAccount   = &Error{KindRejected, "not_checking_account", "only checking accounts have an overdraft limit"}
	// Reversals: requested by staff, decided by a second admin.
	ErrReversalNotFound      = &Error{KindNotFound, "reversal_not_found", "reversal not found"}
	ErrReversalExceeds       = &Error{KindRejected, "reversal_exceeds_transfer", "the amount exceeds what remains unreversed of the transfer"}
	ErrReversalNotPending    = &Error{KindRejected, "reversal_not_pending", "the reversal was already approved or rejected"}
	ErrTransferNotReversible = &Error{KindRejected, "transfer_not_reversible", "a reversal cannot itself be reversed"}
	ErrFourEyes              = &Error{KindForbidden, "four_eyes", "a reversal must be approved or rejected by an admin other than the one who requested it"}
)

// LedgerErrors indexes the rule violations by code, for decoding script replies.
var LedgerErrors = map[string]*Error{}

func init() {
	for _, e := range []*Error{ErrAccountNotFound, ErrHoldNotFound, ErrTransferNotFound, ErrInsufficientFunds,
		ErrAccountFrozen, ErrAccountClosed, ErrCurrencyMismatch, ErrSameAccount, ErrBalanceLimit,
		ErrIdempotencyConflict, ErrHoldExpired, ErrHoldNotActive, ErrCaptureExceedsHold, ErrAccountNotEmpty,
		ErrInvalidTransition, ErrSystemAccount, ErrAccountLimitReached, ErrOverdraftCapExceeded, ErrNotCheckingAccount,
		ErrReversalNotFound, ErrReversalExceeds, ErrReversalNotPending, ErrTransferNotReversible, ErrFourEyes} {
		LedgerErrors[e.Code] = e
	}
}
