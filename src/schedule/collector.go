package schedule

import (
	"context"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/jobs"
)

// Collector exports when gocraft's enqueuer last ran (any pool of the
// namespace) and each entry's next slot. gocraft offers no hook on what
// it enqueues, so there is no per-slot counter.
type Collector struct {
	pool      *redis.Pool
	namespace string
	entries   []Entry
	last      *prometheus.Desc
	next      *prometheus.Desc
}

// NewCollector returns the collector for a scheduler's entries.
func NewCollector(pool *redis.Pool, namespace string, entries []Entry) *Collector {
	if namespace == "" {
		namespace = jobs.Namespace
	}
	return &Collector{pool: pool, namespace: namespace, entries: entries,
		last: prometheus.NewDesc("bank_scheduler_last_enqueue_timestamp_seconds", "Unix time of the last pass of gocraft/work's periodic enqueuer in the namespace.", nil, nil),
		next: prometheus.NewDesc("bank_scheduler_next_slot_timestamp_seconds", "Unix time of the next slot of each periodic job.", []string{jobs.JobLabel}, nil)}
}

// Describe implements prometheus.Collector.
func (sc *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- sc.last; ch <- sc.next }

// Collect implements prometheus.Collector.
func (sc *Collector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, e := range sc.entries {
		ch <- prometheus.MustNewConstMetric(sc.next, prometheus.GaugeValue, float64(e.Next(now).Unix()), e.Job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := sc.pool.GetContext(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	if last, err := redis.Int64(c.Do("GET", sc.namespace+":last_periodic_enqueue")); err == nil {
		ch <- prometheus.MustNewConstMetric(sc.last, prometheus.GaugeValue, float64(last))
	}
}
