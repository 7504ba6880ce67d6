package ledger

import "github.com/kubebank/kubebank/src/keyspace"

// KeyOutbox is the stream of events about new postings (type, id, at),
// written by the posting scripts and drained by the jobs' outbox relay.
const KeyOutbox = keyspace.Outbox

func accountKey(n string) string   { return keyspace.Account + n }
func journalKey(n string) string   { return keyspace.Journal + n }
func transferKey(id string) string { return keyspace.Transfer + id }
func holdKey(id string) string     { return keyspace.Hold + id }
func ownerKey(uid string) string   { return keyspace.OwnerAccounts + uid + ":accounts" }
func acctHoldsKey(n string) string { return keyspace.AccountHolds + n }
func interestKey(n string) string  { return keyspace.Interest + n }

// reconCheckKey stores, per account, how far its journal has been
// verified: "<last stream id> <sum up to it>". Later checks read only
// newer entries, so the hourly job stays cheap as journals grow.
func reconCheckKey(n string) string { return keyspace.ReconCheck + n }

func idemKey(scope, key string) string { return keyspace.IdempotencyRecord(scope, key) }
