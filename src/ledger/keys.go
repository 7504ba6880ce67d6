package ledger

// Key layout. Every ledger key starts with "bank:" so that the job queues
// (gocraft/work, namespace "bank-jobs") and web sessions never collide with
// money. One place defines them so scripts and readers agree.
const (
	keyAccounts   = "bank:accounts"     // set of every account number, system ones included
	keySeqAccount = "bank:seq:account"  // customer account number sequence
	keyHoldExpiry = "bank:holds:expiry" // zset hold id → expiry ms
	keyPrefixIdem = "bank:idem:"        // hash {hash, result} per scope and Idempotency-Key
	keyTransfer   = "bank:transfer:"    // hash per transfer
	keyHold       = "bank:hold:"        // hash per hold
	keyOwner      = "bank:owner:"       // set of account numbers per user id, suffix ":accounts"
	keyAccount    = "bank:acct:"        // hash per account
	keyJournal    = "bank:journal:"     // stream per account: the append-only journal
	keyAcctHolds  = "bank:acct-holds:"  // zset per account: hold id → created ms
	// The last reconciliation report (JSON) and when a run last completed.
	keyReconLast        = "bank:reconciliation:last"
	keyReconLastSuccess = "bank:reconciliation:last-success"
	// KeyOutbox is the stream of events about new postings (type, id, at),
	// written by the posting scripts and drained by the jobs' outbox relay.
	KeyOutbox = "bank:outbox"
)

func accountKey(n string) string   { return keyAccount + n }
func journalKey(n string) string   { return keyJournal + n }
func transferKey(id string) string { return keyTransfer + id }
func holdKey(id string) string     { return keyHold + id }
func ownerKey(uid string) string   { return keyOwner + uid + ":accounts" }
func acctHoldsKey(n string) string { return keyAcctHolds + n }

// IdemKey is the key of an idempotency record. Keys are scoped (by user, or
// by job) so one customer's key can never replay another's request.
func idemKey(scope, key string) string {
	if key == "" {
		return ""
	}
	return keyPrefixIdem + scope + ":" + key
}
