package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
)

// maxScan bounds how many retry/dead/scheduled entries a stats call reads.
const maxScan = 20_000

// Stats reads queue depths and retry/dead counts per job name from the
// gocraft/work keys in namespace.
func Stats(ctx context.Context, pool *redis.Pool, namespace string) ([]bank.QueueStat, error) {
	if namespace == "" {
		namespace = Namespace
	}
	c, err := pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	names := Names()
	for _, n := range names {
		c.Send("LLEN", namespace+":jobs:"+n)
	}
	for _, z := range []string{"retry", "dead", "scheduled"} {
		c.Send("ZRANGE", namespace+":"+z, 0, maxScan-1)
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	byName := map[string]*bank.QueueStat{}
	out := make([]bank.QueueStat, len(names))
	for i, n := range names {
		q, err := redis.Int64(c.Receive())
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		out[i] = bank.QueueStat{Job: n, Queued: q}
		byName[n] = &out[i]
	}
	for _, z := range []string{"retry", "dead", "scheduled"} {
		members, err := redis.ByteSlices(c.Receive())
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		for _, m := range members {
			var j struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(m, &j) != nil {
				continue
			}
			s := byName[j.Name]
			if s == nil {
				continue
			}
			switch z {
			case "retry":
				s.Retrying++
			case "dead":
				s.Dead++
			default:
				s.Scheduled++
			}
		}
	}
	return out, nil
}
