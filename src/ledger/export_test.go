package ledger

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
)

// legacyTransfer is transfer.lua as release f02ea3b ran it (copied, with
// its lib.lua and money.lua, to testdata/f02ea3b): a posting with its own
// record hash bank:transfer:<id> and a per-key idempotency record, the
// data an upgrade finds.
var legacyTransfer = func() *redis.Script {
	var text string
	for _, f := range []string{"lib", "money", "transfer"} {
		b, err := os.ReadFile("testdata/f02ea3b/" + f + ".lua")
		if err != nil {
			panic(err)
		}
		text += string(b) + "\n"
	}
	prelude := fmt.Sprintf("local KEY_AUDIT, KEY_AUDIT_ACTOR, KEY_AUDIT_ACCOUNT, KEY_USER = %q, %q, %q, %q\n",
		keyspace.Audit, keyspace.AuditActor, keyspace.AuditAccount, keyspace.User)
	return redis.NewScript(7, prelude+text)
}()

// PostLegacy posts p the way release f02ea3b did, under the random id
// (tr_<24 hex>) it gave every transfer, and returns that id.
func (l *Ledger) PostLegacy(ctx context.Context, p Posting) (string, error) {
	p, err := p.prepared()
	if err != nil {
		return "", err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	id := NewID("tr")
	amount := strconv.FormatInt(p.Amount, 10)
	_, rid, err := decodeReply(legacyTransfer.DoContext(ctx, c,
		accountKey(p.From), accountKey(p.To), journalKey(p.From), journalKey(p.To), transferKey(id),
		idemKey(p.Idem.Scope, p.Idem.Key), KeyOutbox,
		amount, "-"+amount, p.Currency, id, l.nowMs(), p.Kind, p.Description, p.Idem.Hash,
		int64(l.IdempotencyTTL.Seconds()), p.InitiatedBy, string(p.Touch), bank.MaxBalance, ""))
	return rid, err
}
