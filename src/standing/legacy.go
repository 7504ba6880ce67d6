package standing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/kubebank/kubebank/src/keyspace"
)

// The idempotency record of releases before standing orders used the
// shared one: read and still written for one release (see create.lua), so
// that neither an old retry nor a rolling update creates an order twice.
// Remove this file, the legacy key family and its ACL rule once a release
// with this code has run for the idempotency TTL (7 days).

func legacyIdemKey(owner, key string) string {
	if key == "" {
		return ""
	}
	return keyspace.StandingIdemLegacy + owner + ":" + key
}

// legacyHash is how those releases fingerprinted a request.
func (r Request) legacyHash() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s|%d", r.From, r.To, r.Amount, r.Currency, r.Description, r.Frequency, r.FirstDate, r.EndDate, r.Count)))
	return hex.EncodeToString(h[:])
}
