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

// jobSets are gocraft/work's sorted sets of jobs (each member a JSON job)
// and the count of a QueueStat each adds to.
var jobSets = []struct {
	name  string
	count func(*bank.QueueStat) *int64
}{
	{"retry", func(s *bank.QueueStat) *int64 { return &s.Retrying }},
	{"dead", func(s *bank.QueueStat) *int64 { return &s.Dead }},
	{"scheduled", func(s *bank.QueueStat) *int64 { return &s.Scheduled }},
}

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
	if err := sendStatsReads(c, namespace, names); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	out, err := receiveStats(c, names)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return out, nil
}

// sendStatsReads pipelines the length of each name's queue, then the
// members of each of jobSets.
func sendStatsReads(c redis.Conn, namespace string, names []string) error {
	for _, n := range names {
		c.Send("LLEN", namespace+":jobs:"+n)
	}
	for _, z := range jobSets {
		c.Send("ZRANGE", namespace+":"+z.name, 0, maxScan-1)
	}
	return c.Flush()
}

// receiveStats reads the replies to sendStatsReads into one stat per name.
func receiveStats(c redis.Conn, names []string) ([]bank.QueueStat, error) {
	byName := map[string]*bank.QueueStat{}
	out := make([]bank.QueueStat, len(names))
	for i, n := range names {
		q, err := redis.Int64(c.Receive())
		if err != nil {
			return nil, err
		}
		out[i] = bank.QueueStat{Job: n, Queued: q}
		byName[n] = &out[i]
	}
	for _, z := range jobSets {
		members, err := redis.ByteSlices(c.Receive())
		if err != nil {
			return nil, err
		}
		countJobs(members, byName, z.count)
	}
	return out, nil
}

// countJobs adds each of members (JSON jobs) to the count of its name's
// stat; a member it cannot read, or of a name not in byName, is skipped.
func countJobs(members [][]byte, byName map[string]*bank.QueueStat, count func(*bank.QueueStat) *int64) {
	for _, m := range members {
		var j struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(m, &j) != nil {
			continue
		}
		if s := byName[j.Name]; s != nil {
			*count(s)++
		}
	}
}
