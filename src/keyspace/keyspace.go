// Package keyspace is the registry of every Redis key the bank uses. Each
// key family is one constant here and one entry in Families, which says
// what it holds, which package owns it and how long it lives. Stores build
// their keys from these constants only, so two packages cannot claim one
// prefix unnoticed: a test checks that no family covers another's keys.
//
// Every family but the job queues starts with "bank:"; gocraft/work keeps
// its queues under its own namespace, JobNamespace + ":".
package keyspace

// Root starts every key of the bank's own (all but the job queues').
const Root = "bank:"

// The ledger's keys (package ledger): accounts, journals, postings, holds.
const (
	Accounts      = "bank:accounts"     // every account number
	AccountSeq    = "bank:seq:account"  // customer account number sequence
	Account       = "bank:acct:"        // + number
	Journal       = "bank:journal:"     // + number
	AccountHolds  = "bank:acct-holds:"  // + number
	OwnerAccounts = "bank:owner:"       // + user id + ":accounts"
	Transfer      = "bank:transfer:"    // + transfer id: a legacy record, or a posting's extras
	Hold          = "bank:hold:"        // + hold id
	HoldExpiry    = "bank:holds:expiry" // hold id → expiry ms
	Idempotency   = "bank:idem:"        // + scope + ":" + Idempotency-Key (legacy, read only)
	// IdempotencyWindow holds the idempotency records: + scope + ":" +
	// window number (Unix time / TTL), field the Idempotency-Key.
	IdempotencyWindow = "bank:idem-window:"
	Outbox            = "bank:outbox"    // events about new postings
	Interest          = "bank:interest:" // + number
	ReconCheck        = "bank:recon:checkpoint:"
	ReconLast         = "bank:reconciliation:last"
	ReconSuccess      = "bank:reconciliation:last-success"
	Reversal          = "bank:reversal:"  // + reversal id
	Reversals         = "bank:reversals:" // + status (pending, approved, rejected)
)

// AckChannel is a Pub/Sub channel, not a key: a money-moving write that
// must be confirmed by replicas publishes an empty message to it before
// WAIT (src/luascript), because PUBLISH is replicated even when the
// script wrote nothing (an idempotent replay), so WAIT then also covers
// the original write. Nobody subscribes.
const AckChannel = "bank:ack"

// Users, tokens and rate limits (package auth).
const (
	User      = "bank:user:"     // + user id
	Username  = "bank:username:" // + username
	Usernames = "bank:usernames" // every username, for prefix search
	Token     = "bank:token:"    // + SHA-256 of the token
	RateLimit = "bank:ratelimit:"
)

// Standing orders (package standing).
const (
	StandingOrder = "bank:standing:"       // + order id
	StandingRuns  = "bank:standing-runs:"  // + order id
	StandingOwner = "bank:standing-owner:" // + user id
	StandingDue   = "bank:standing-due"    // order id → next due day
	// StandingIdemLegacy is the idempotency record of releases before
	// standing orders used Idempotency: + owner + ":" + key → "hash:id".
	StandingIdemLegacy = "bank:standing-idem:"
)

// The audit trail (package audit; appended by the scripts of ledger and
// auth in the step that does what they record): one stream of every staff
// action, and the same entries again per actor and per account, so that
// a filtered read is a range read, not a scan.
const (
	Audit        = "bank:audit"          // every entry
	AuditActor   = "bank:audit-actor:"   // + user id
	AuditAccount = "bank:audit-account:" // + account number
)

// Statements (package statements) and webhooks (package webhooks).
const (
	Statement        = "bank:statement:"  // + account + ":" + month
	StatementIndex   = "bank:statements:" // + account
	Webhook          = "bank:webhook:"    // + webhook id
	WebhookOwner     = "bank:webhooks:"   // + user id
	WebhookDelivered = "bank:webhook-delivered:"
)

// Background jobs (packages jobs, delivery) and the web app's sessions (package web).
const (
	OutboxRelayed = "bank:outbox:relayed:" // + event type + ":" + id
	JobNamespace  = "bank-jobs"            // gocraft/work's keys: JobNamespace + ":..."
	// JobLastSuccess follows the job namespace (which --namespace may
	// change): a hash of job name → Unix time of its last successful run.
	// It lives among gocraft's keys so the worker and the scheduler need
	// no other ACL pattern to reach it.
	JobLastSuccess = ":last-success"
	WebSession     = "bank:web:session:" // + SHA-256 of the cookie
)

// IdempotencyRecord names the idempotency record of an Idempotency-Key,
// scoped (by user, or by job) so that one customer's key can never replay
// another's request; "" for no key. It is the key an older release kept
// the record at (read only now); lib.lua's idem_check takes the scope
// (up to the first ':') and the key from it to find the record in its
// IdempotencyWindow bucket.
func IdempotencyRecord(scope, key string) string {
	if key == "" {
		return ""
	}
	if scope == "" {
		// Every caller's keys in one space would let one replay another's
		// request: a wiring mistake, found on the first request.
		panic("keyspace: an Idempotency-Key without a scope")
	}
	return Idempotency + scope + ":" + key
}

// Family is one kind of key: Key itself when Exact, otherwise every key
// that starts with Key.
type Family struct {
	Key      string
	Exact    bool
	Type     string // the Redis type: string, hash, set, zset, stream, or mixed
	Owner    string // the package that writes it
	Lifetime string // when it goes away
	Holds    string
}

// Families documents every key the bank keeps, grouped by owner.
var Families = []Family{
	{Accounts, true, "set", "ledger", "forever", "every account number, system accounts included"},
	{AccountSeq, true, "string", "ledger", "forever", "the customer account number sequence"},
	{Account, false, "hash", "ledger", "forever (closed accounts stay)", "an account: owner, type, currency, status, balance, held, limits"},
	{Journal, false, "stream", "ledger", "forever: the append-only journal", "an account's journal entries"},
	{AccountHolds, false, "zset", "ledger", "forever", "an account's holds by creation time"},
	{OwnerAccounts, false, "set", "ledger", "forever", "a user's account numbers"},
	{Transfer, false, "hash", "ledger", "forever", "a posting's mutable or rare parts (reversed amount, reversal links), only when it has them; before the journal was the record (ids tr_<24 hex>, in_..., so_...), a posting's whole record"},
	{Hold, false, "hash", "ledger", "forever", "a hold and its state"},
	{HoldExpiry, true, "zset", "ledger", "entries leave when the hold ends", "authorised holds by expiry"},
	{Idempotency, false, "hash", "ledger (lib.lua)", "the idempotency TTL, 7 days; no longer written (remove its read one TTL after the release that brought IdempotencyWindow)", "an older release's record of one Idempotency-Key: request hash and result id"},
	{IdempotencyWindow, false, "hash", "ledger (lib.lua)", "until the end of the window after its own: each record at least one idempotency TTL (7 days), at most two", "a scope's Idempotency-Keys of one TTL-long window, for every state-creating request: key → result id and request fingerprint"},
	{Outbox, true, "stream", "ledger scripts; drained by jobs", "entries leave once relayed", "events about new postings"},
	{Interest, false, "hash", "ledger", "forever", "an account's accrual state: last day, carried remainder"},
	{ReconCheck, false, "string", "ledger", "forever", "how far an account's journal has been reconciled"},
	{ReconLast, true, "string", "ledger", "replaced by each run", "the last reconciliation report (JSON)"},
	{ReconSuccess, true, "string", "ledger", "replaced by each run", "when reconciliation last completed (Unix s)"},
	{Reversal, false, "hash", "ledger", "forever", "a reversal request of a transfer: amount, reason, status, requester, decision"},
	{Reversals, false, "zset", "ledger", "forever (an id moves from pending to approved or rejected)", "reversal ids by creation time, one index per status"},
	{User, false, "hash", "auth", "forever", "a user: username, role, password hash"},
	{Username, false, "string", "auth", "forever", "a username's user id"},
	{Usernames, true, "zset", "auth", "forever", "every username, for prefix search"},
	{Token, false, "hash", "auth", "the token's expiry, or logout", "an API token's user and expiry"},
	{RateLimit, false, "string", "auth", "the limit's window", "a rate limit counter: limit name + ':' + key"},
	{Audit, true, "stream", "audit (lib.lua's audit, from ledger and auth scripts)", "forever: append-only, no process may delete or trim it", "every staff action and refused staff attempt: actor, role, action, target, accounts, request id, outcome"},
	{AuditActor, false, "stream", "audit", "forever: append-only", "the audit entries of one actor, with the ids of the main stream"},
	{AuditAccount, false, "stream", "audit", "forever: append-only", "the audit entries about one account, with the ids of the main stream"},
	{StandingOrder, false, "hash", "standing", "forever", "a standing order"},
	{StandingRuns, false, "hash", "standing (via ledger.PostOnce)", "forever", "an order's outcome per due date"},
	{StandingOwner, false, "zset", "standing", "forever", "a user's orders by creation time"},
	{StandingIdemLegacy, false, "string", "standing", "the idempotency TTL; written for one release (see standing/legacy.go)", "an older release's idempotency record: request hash and order id"},
	{StandingDue, true, "zset", "standing", "entries leave when an order ends", "active orders by next due day"},
	{Statement, false, "string", "statements", "forever", "a monthly statement (JSON)"},
	{StatementIndex, false, "zset", "statements", "forever", "an account's statement months"},
	{Webhook, false, "hash", "webhooks", "until deleted", "a webhook: owner, URL, secret, events"},
	{WebhookOwner, false, "zset", "webhooks", "until deleted", "a user's webhooks"},
	{WebhookDelivered, false, "string", "webhooks", "7 days", "an event delivered to a webhook, against duplicates"},
	{OutboxRelayed, false, "string", "delivery", "a day", "an outbox event whose deliveries were enqueued"},
	{JobNamespace + ":", false, "mixed", "gocraft/work", "gocraft/work's own", "job queues, retries, dead jobs, the periodic enqueuer's state; and JobLastSuccess (package worker writes it, jobs reads it): each job's last successful run"},
	{WebSession, false, "string", "web", "the session's expiry", "a browser session (JSON): API token, user, flash"},
}
