package jobs

import (
	"context"
	"math"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/ledger"
)

// JobLabel is the label that carries a bank job's name on every job
// metric. Not "job": that is Prometheus's own target label, and a scraped
// "job" would be renamed to "exported_job" (honor_labels is off), so rules
// written against it would group by the scrape job instead.
const JobLabel = "job_name"

// QueueCollector exports, at scrape time, what is in Redis: queue depth,
// retrying and dead jobs and the last success per job name, and the last
// reconciliation. Read from Redis rather than kept in memory so every
// replica reports the same numbers and they survive restarts. Only the
// worker registers it: one process kind per series, so a rule never sees
// the same gauge twice under different scrape jobs.
type QueueCollector struct {
	pool      *redis.Pool
	ledger    *ledger.Ledger
	namespace string
	depth     *prometheus.Desc
	retrying  *prometheus.Desc
	dead      *prometheus.Desc
	imbalance *prometheus.Desc
	mismatch  *prometheus.Desc
	lastOK    *prometheus.Desc
	lastRun   *prometheus.Desc
	outboxAge *prometheus.Desc
	up        *prometheus.Desc
}

// NewQueueCollector returns a collector for the queues in namespace on
// pool and the reconciliation results l stored.
func NewQueueCollector(pool *redis.Pool, l *ledger.Ledger, namespace string) *QueueCollector {
	if namespace == "" {
		namespace = Namespace
	}
	return &QueueCollector{
		pool: pool, ledger: l, namespace: namespace,
		depth:     prometheus.NewDesc("bank_jobs_queue_depth", "Jobs waiting in the queue, by job name.", []string{JobLabel}, nil),
		retrying:  prometheus.NewDesc("bank_jobs_retrying", "Failed jobs waiting for a retry, by job name.", []string{JobLabel}, nil),
		dead:      prometheus.NewDesc("bank_jobs_dead", "Jobs in the dead set (out of retries), by job name.", []string{JobLabel}, nil),
		imbalance: prometheus.NewDesc("bank_ledger_imbalance", "|sum of all balances| in the currency at the last reconciliation, minor units; must be 0.", []string{"currency"}, nil),
		mismatch:  prometheus.NewDesc("bank_ledger_mismatched_accounts", "Accounts whose balance differed from their journal, or whose held amount differed from their authorised holds, at the last reconciliation; must be 0.", nil, nil),
		lastOK:    prometheus.NewDesc("bank_reconciliation_last_success_timestamp_seconds", "Unix time of the last completed reconciliation; 0 before the first.", nil, nil),
		lastRun:   prometheus.NewDesc("bank_jobs_last_success_timestamp_seconds", "Unix time of the last successful run of each job, by job name; 0 when it never succeeded.", []string{JobLabel}, nil),
		outboxAge: prometheus.NewDesc("bank_outbox_oldest_event_age_seconds", "Age of the oldest posting event the outbox relay has not yet handed to the webhook deliveries; 0 when the outbox is empty.", nil, nil),
		up:        prometheus.NewDesc("bank_jobs_stats_up", "1 when the job statistics could be read from Redis.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (q *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{q.depth, q.retrying, q.dead, q.imbalance, q.mismatch, q.lastOK, q.lastRun, q.outboxAge, q.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (q *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	stats, err := Stats(ctx, q.pool, q.namespace)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(q.up, prometheus.GaugeValue, 0)
		return
	}
	successes, err := LastSuccesses(ctx, q.pool, q.namespace)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(q.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(q.up, prometheus.GaugeValue, 1)
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(q.depth, prometheus.GaugeValue, float64(s.Queued), s.Job)
		ch <- prometheus.MustNewConstMetric(q.retrying, prometheus.GaugeValue, float64(s.Retrying), s.Job)
		ch <- prometheus.MustNewConstMetric(q.dead, prometheus.GaugeValue, float64(s.Dead), s.Job)
		ch <- prometheus.MustNewConstMetric(q.lastRun, prometheus.GaugeValue, float64(successes[s.Job]), s.Job)
	}
	if oldest, err := q.ledger.OutboxEvents(ctx, 1); err == nil {
		age := 0.0
		if len(oldest) > 0 {
			age = max(time.Since(oldest[0].At).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(q.outboxAge, prometheus.GaugeValue, age)
	}
	last, ok, err := q.ledger.LastReconciliation(ctx)
	if err != nil {
		return
	}
	if !ok {
		// Never reconciled: a stale reconciliation, not a missing series
		// (an alert on a series that is not there stays silent).
		ch <- prometheus.MustNewConstMetric(q.lastOK, prometheus.GaugeValue, 0)
		return
	}
	for cur, sum := range last.Report.Sums {
		ch <- prometheus.MustNewConstMetric(q.imbalance, prometheus.GaugeValue, math.Abs(float64(sum)), cur)
	}
	ch <- prometheus.MustNewConstMetric(q.mismatch, prometheus.GaugeValue, float64(len(last.Report.Mismatches)+len(last.Report.HeldMismatches)))
	ch <- prometheus.MustNewConstMetric(q.lastOK, prometheus.GaugeValue, float64(last.LastSuccess.Unix()))
}
