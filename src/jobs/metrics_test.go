package jobs_test

import (
	"testing"
	"time"

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
		"bank_jobs_processed_total": false, "bank_jobs_failed_total": false, "bank_jobs_duration_seconds": false,
		"bank_jobs_catchup_backlog_total": false, "bank_jobs_queue_depth": false, "bank_jobs_retrying": false,
		"bank_jobs_dead": false, "bank_jobs_last_success_timestamp_seconds": false, "bank_scheduler_next_slot_timestamp_seconds": false,
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

// A job's last success is 0 until one is recorded, then that time, for
// the collector of any replica; the imbalance carries its currency.
func TestLastSuccessAndImbalancePerCurrency(t *testing.T) {
	e := newEnv(t, jobs.Options{})
	l := ledger.New(e.pool)
	value := func(name, label, want string) (float64, bool) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(jobs.NewQueueCollector(e.pool, l, ""))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, x := range mf.GetMetric() {
				for _, lp := range x.GetLabel() {
					if lp.GetName() == label && lp.GetValue() == want {
						return x.GetGauge().GetValue(), true
					}
				}
			}
		}
		return 0, false
	}
	if v, ok := value("bank_jobs_last_success_timestamp_seconds", jobs.JobLabel, jobs.HoldExpiry); !ok || v != 0 {
		t.Errorf("before any run: %v, %v; want a series at 0", v, ok)
	}
	at := time.Unix(1_800_000_000, 0)
	if err := jobs.RecordSuccess(t.Context(), e.pool, "", jobs.HoldExpiry, at); err != nil {
		t.Fatal(err)
	}
	if v, _ := value("bank_jobs_last_success_timestamp_seconds", jobs.JobLabel, jobs.HoldExpiry); v != float64(at.Unix()) {
		t.Errorf("after a recorded success: %v, want %d", v, at.Unix())
	}
	if err := l.SaveReport(t.Context(), ledger.Report{Sums: map[string]int64{"EUR": 0, "USD": -7}}); err != nil {
		t.Fatal(err)
	}
	if v, ok := value("bank_ledger_imbalance", "currency", "USD"); !ok || v != 7 {
		t.Errorf("USD imbalance: %v, %v; want 7", v, ok)
	}
	if v, ok := value("bank_ledger_imbalance", "currency", "EUR"); !ok || v != 0 {
		t.Errorf("EUR imbalance: %v, %v; want 0", v, ok)
	}
}
