package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/keyspace"
)

// LastReconciliation is the stored result of the last reconciliation run,
// for the admin API and the metrics.
type LastReconciliation struct {
	Report      Report    `json:"report"`
	Balanced    bool      `json:"balanced"`
	Imbalance   int64     `json:"imbalance"`
	LastSuccess time.Time `json:"last_success"`
}

// SaveReport stores rep as the last reconciliation result.
func (l *Ledger) SaveReport(ctx context.Context, rep Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Send("MULTI")
	c.Send("SET", keyspace.ReconLast, b)
	// "Success" is a completed check: an imbalance is a separate alert
	// (bank_ledger_imbalance), a stale timestamp means the job stopped.
	c.Send("SET", keyspace.ReconSuccess, time.Now().Unix())
	if _, err := c.Do("EXEC"); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// LastReconciliation reads the last stored reconciliation result; ok is
// false when reconciliation never ran.
func (l *Ledger) LastReconciliation(ctx context.Context) (_ LastReconciliation, ok bool, _ error) {
	c, err := l.conn(ctx)
	if err != nil {
		return LastReconciliation{}, false, err
	}
	defer c.Close()
	vals, err := redis.Values(c.Do("MGET", keyspace.ReconLast, keyspace.ReconSuccess))
	if err != nil {
		return LastReconciliation{}, false, fmt.Errorf("ledger: %w", err)
	}
	raw, _ := redis.Bytes(vals[0], nil)
	if raw == nil {
		return LastReconciliation{}, false, nil
	}
	var out LastReconciliation
	if err := json.Unmarshal(raw, &out.Report); err != nil {
		return LastReconciliation{}, false, fmt.Errorf("ledger: stored reconciliation report: %w", err)
	}
	// A report without its time (written together, so only after an edit)
	// reads as never succeeded; a malformed time is an error.
	var ts int64
	if vals[1] != nil {
		if ts, err = redis.Int64(vals[1], nil); err != nil {
			return LastReconciliation{}, false, fmt.Errorf("ledger: stored reconciliation time: %w", err)
		}
	}
	out.LastSuccess = time.Unix(ts, 0).UTC()
	out.Balanced = out.Report.Balanced()
	out.Imbalance = out.Report.Imbalance()
	return out, true, nil
}
