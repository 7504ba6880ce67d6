package jobs_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/schedule"
	"github.com/kubebank/kubebank/src/worker"
)

// Every per-job metric carries the job name as job_name, never as "job":
// Prometheus owns "job" (the scrape job) and would rename ours to
// exported_job, so the BankDeadJobs rule (by (job_name)) would group by
// the wrong thing.
func TestJobMetricsLabelJobName(t *testing.T) {
	e := newEnv(t, jobs.Options{})
	reg := prometheus.NewRegistry()
	m := worker.NewMetrics(reg)
	m.Processed.WithLabelValues(jobs.InterestAccrual).Inc()
	m.Failed.WithLabelValues(jobs.InterestAccrual).Inc()
	m.Duration.WithLabelValues(jobs.InterestAccrual).Observe(0.1)
	m.Backlog.WithLabelValues(jobs.InterestAccrual).Inc()
	entries, err := schedule.Parse("")
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(jobs.NewQueueCollector(e.pool, ledger.New(e.pool), ""), schedule.NewCollector(e.pool, "", entries))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"bank_jobs_processed_total": false, "bank_jobs_failed_total": false, "bank_job_duration_seconds": false,
		"bank_jobs_catchup_backlog_total": false, "bank_job_queue_depth": false, "bank_jobs_retrying": false,
		"bank_jobs_dead": false, "bank_scheduler_next_slot_timestamp_seconds": false,
	}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			named := false
			for _, l := range x.GetLabel() {
				if l.GetName() == "job" {
					t.Errorf("%s has a label named job (Prometheus's target label)", mf.GetName())
				}
				named = named || (l.GetName() == jobs.JobLabel && l.GetValue() != "")
			}
			if _, ok := want[mf.GetName()]; ok {
				if !named {
					t.Errorf("%s: a series without %s: %v", mf.GetName(), jobs.JobLabel, x.GetLabel())
				}
				want[mf.GetName()] = true
			}
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("%s not exported", name)
		}
	}
	if jobs.JobLabel != "job_name" {
		t.Errorf("JobLabel = %q: the PrometheusRule and docs/jobs.md use job_name", jobs.JobLabel)
	}
}
