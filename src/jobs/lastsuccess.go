package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/keyspace"
)

// RecordSuccess notes that a run of job name completed at at. Kept in
// Redis, not in memory, so that every worker replica and the metric agree
// and a restart does not forget that last night's accrual ran: the alerts
// on periodic jobs ask "when did this last succeed", whoever ran it.
func RecordSuccess(ctx context.Context, pool *redis.Pool, namespace, name string, at time.Time) error {
	c, err := pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do("HSET", lastSuccessKey(namespace), name, at.Unix()); err != nil {
		return fmt.Errorf("jobs: record success of %s: %w", name, err)
	}
	return nil
}

// LastSuccesses returns the Unix time of each job's last successful run;
// a job that never succeeded is missing.
func LastSuccesses(ctx context.Context, pool *redis.Pool, namespace string) (map[string]int64, error) {
	c, err := pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	m, err := redis.Int64Map(c.Do("HGETALL", lastSuccessKey(namespace)))
	if err != nil {
		return nil, fmt.Errorf("jobs: last successes: %w", err)
	}
	return m, nil
}

func lastSuccessKey(namespace string) string {
	if namespace == "" {
		namespace = Namespace
	}
	return namespace + keyspace.JobLastSuccess
}
