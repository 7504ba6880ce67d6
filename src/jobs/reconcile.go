package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/ledger"
)

func storeReport(ctx context.Context, pool *redis.Pool, rep ledger.Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	c, err := pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Send("MULTI")
	c.Send("SET", keyReconLast, b)
	// "Success" is a completed check: an imbalance is a separate alert
	// (bank_ledger_imbalance), a stale timestamp means the job stopped.
	c.Send("SET", keyReconLastSuccess, time.Now().Unix())
	if _, err := c.Do("EXEC"); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// LastReconciliation is the stored result of the last run, for the admin
// API. ok is false when reconciliation never ran.
type LastReconciliation struct {
	Report      ledger.Report `json:"report"`
	Balanced    bool          `json:"balanced"`
	Imbalance   int64         `json:"imbalance"`
	LastSuccess time.Time     `json:"last_success"`
}

// LoadReconciliation reads the last reconciliation result.
func LoadReconciliation(ctx context.Context, pool *redis.Pool) (LastReconciliation, bool, error) {
	c, err := pool.GetContext(ctx)
	if err != nil {
		return LastReconciliation{}, false, err
	}
	defer c.Close()
	vals, err := redis.Values(c.Do("MGET", keyReconLast, keyReconLastSuccess))
	if err != nil {
		return LastReconciliation{}, false, fmt.Errorf("jobs: %w", err)
	}
	raw, _ := redis.Bytes(vals[0], nil)
	if raw == nil {
		return LastReconciliation{}, false, nil
	}
	var out LastReconciliation
	if err := json.Unmarshal(raw, &out.Report); err != nil {
		return LastReconciliation{}, false, fmt.Errorf("jobs: %w", err)
	}
	ts, _ := redis.Int64(vals[1], nil)
	out.LastSuccess = time.Unix(ts, 0).UTC()
	out.Balanced = out.Report.Balanced()
	out.Imbalance = out.Report.Imbalance()
	return out, true, nil
}
