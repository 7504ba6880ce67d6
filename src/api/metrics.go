package api

import (
	"strconv"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/bank"
)

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	transfers *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, poolStats func() redis.PoolStats) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bank_api_requests_total", Help: "API requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bank_api_request_duration_seconds", Help: "API request latency by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "code"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bank_api_postings_total",
			Help: "Money movements requested through the API by kind (transfer, deposit, withdrawal, hold, capture, void) and outcome (completed, replayed, or the error code).",
		}, []string{"kind", "outcome"}),
	}
	reg.MustRegister(m.requests, m.latency, m.transfers)
	// Each kind's "completed" series from the start, at zero, so a panel
	// or a rate() over it sees the first posting; error outcomes appear
	// when they happen (their codes are many).
	for _, kind := range postingKinds {
		m.transfers.WithLabelValues(kind, "completed")
	}
	if poolStats != nil {
		stat := func(name, help string, f func(redis.PoolStats) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(poolStats()) })
		}
		reg.MustRegister(
			stat("bank_api_redis_pool_active_connections", "Redis connections in the API's pool (in use or idle).", func(s redis.PoolStats) float64 { return float64(s.ActiveCount) }),
			stat("bank_api_redis_pool_idle_connections", "Idle Redis connections in the API's pool.", func(s redis.PoolStats) float64 { return float64(s.IdleCount) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bank_api_redis_pool_waits_total", Help: "Times a request waited for a free Redis connection."},
				func() float64 { return float64(poolStats().WaitCount) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bank_api_redis_pool_wait_seconds_total", Help: "Total time spent waiting for a free Redis connection."},
				func() float64 { return poolStats().WaitDuration.Seconds() }),
		)
	}
	return m
}

// postingKinds are the kinds moveMoney counts (its callers' kind argument).
var postingKinds = []string{string(bank.PostingTransfer), string(bank.PostingDeposit), string(bank.PostingWithdrawal),
	"hold", string(bank.PostingCapture), "void", "reversal_request", string(bank.PostingReversal)}

func (m *metrics) observe(route, method string, code int, seconds float64) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(route, method, c).Inc()
	m.latency.WithLabelValues(route, method, c).Observe(seconds)
}
