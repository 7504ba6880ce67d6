package worker

import (
	"time"

	"github.com/gocraft/work"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/jobs"
)

// Metrics are the worker's job counters and timings.
type Metrics struct {
	Processed *prometheus.CounterVec
	Failed    *prometheus.CounterVec
	Duration  *prometheus.HistogramVec
	// Backlog counts accounts/orders a catch-up run left behind: a
	// sustained rate means a backlog is being worked off (or not).
	Backlog *prometheus.CounterVec
}

// NewMetrics registers the job metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bank_jobs_processed_total", Help: "Jobs run to completion, by job name."}, []string{jobs.JobLabel}),
		Failed:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bank_jobs_failed_total", Help: "Job runs that returned an error (retried or dead), by job name."}, []string{jobs.JobLabel}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bank_jobs_duration_seconds", Help: "Job run time, by job name.",
			Buckets: []float64{.005, .01, .05, .1, .5, 1, 5, 15, 60, 300}}, []string{jobs.JobLabel}),
		Backlog: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bank_jobs_catchup_backlog_total",
			Help: "Accounts or standing orders left with missed days after a bounded catch-up run, by job name."}, []string{jobs.JobLabel}),
	}
	reg.MustRegister(m.Processed, m.Failed, m.Duration, m.Backlog)
	// Every job's series from the start, at zero: rate() and increase()
	// need a first sample to see the first failure, and an absent series
	// reads as "no data" on the dashboard rather than "none failed".
	for _, name := range jobs.Names() {
		m.Processed.WithLabelValues(name)
		m.Failed.WithLabelValues(name)
		m.Duration.WithLabelValues(name)
	}
	for _, name := range jobs.CatchUpJobs {
		m.Backlog.WithLabelValues(name)
	}
	return m
}

// observe is the pool middleware that counts and times every job run.
func (m *Metrics) observe(j *work.Job, next work.NextMiddlewareFunc) error {
	start := time.Now()
	err := next()
	m.Duration.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		m.Failed.WithLabelValues(j.Name).Inc()
	} else {
		m.Processed.WithLabelValues(j.Name).Inc()
	}
	return err
}
