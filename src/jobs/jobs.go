// Package jobs is kubebank's background banking: the job names and their
// gocraft/work options, the Runner with one handler per job family
// (interest, dormancy, statements, standing orders, hold expiry,
// reconciliation, webhook delivery, outbox relay), what a periodic job's
// slot means, and the queue statistics. The worker package runs the
// handlers on a gocraft/work pool, the schedule package enqueues the
// periodic ones, and the delivery package publishes events.
//
// gocraft/work's own periodic enqueuer fires a slot more than once (its
// de-duplication races between processes) and a worker can die mid-job,
// so every handler is idempotent by its business key (account + day,
// order + due date, account + month, webhook + event): running a job
// twice, or on two workers at once, changes nothing the second time.
package jobs

import (
	"maps"
	"slices"

	"github.com/gocraft/work"

	"github.com/kubebank/kubebank/src/keyspace"
)

// Namespace is the gocraft/work key prefix (see keyspace).
const Namespace = keyspace.JobNamespace

// Job names. The periodic ones fan out into "-batch" jobs over accounts.
const (
	InterestAccrual      = "interest-accrual"
	InterestAccrualBatch = "interest-accrual-batch"
	DormancySweep        = "dormancy-sweep"
	DormancySweepBatch   = "dormancy-sweep-batch"
	MonthlyStatements    = "monthly-statements"
	MonthlyStatementsB   = "monthly-statements-batch"
	StandingOrders       = "standing-orders"
	HoldExpiry           = "hold-expiry"
	Reconciliation       = "reconciliation"
	WebhookDelivery      = "webhook-delivery"
	OutboxRelay          = "outbox-relay"
)

// Names lists every job the worker handles, sorted.
func Names() []string { return slices.Sorted(maps.Keys(handlers)) }

// Retry is how webhook deliveries are retried: Attempts before the dead
// set (default 8), and Backoff, the seconds to wait after the n-th
// failure (default 10s·2^(n-1), capped at one hour).
type Retry struct {
	Attempts uint
	Backoff  func(fails int64) int64
}

// WorkOptions are job name's gocraft/work options. Every pool that
// registers a name, the workers' and the scheduler's, must use these:
// gocraft writes MaxConcurrency to Redis from every pool that registers a
// name, so they must agree.
func WorkOptions(name string, webhook Retry) work.JobOptions {
	switch name {
	case StandingOrders, HoldExpiry:
		// The next minute's run does the same work: no dead letters.
		return work.JobOptions{MaxFails: 2, SkipDead: true}
	case OutboxRelay:
		// One relay at a time (across every worker): two relays reading
		// the same outbox entries would both enqueue their deliveries.
		// The next run (seconds later) retries a failed one: no dead letters.
		return work.JobOptions{MaxFails: 2, SkipDead: true, MaxConcurrency: 1}
	case WebhookDelivery:
		if webhook.Attempts == 0 {
			webhook.Attempts = 8
		}
		if webhook.Backoff == nil {
			webhook.Backoff = func(fails int64) int64 { return min(int64(10)<<min(fails-1, 20), 3600) }
		}
		return work.JobOptions{MaxFails: webhook.Attempts, Backoff: func(j *work.Job) int64 { return webhook.Backoff(j.Fails) }}
	}
	return work.JobOptions{MaxFails: 4}
}
