// Package jobs is kubebank's background banking on gocraft/work: the job
// handlers, the worker pool that runs them, the scheduler that enqueues
// the periodic ones, and their metrics.
//
// gocraft/work's own periodic enqueuer fires a slot more than once (its
// de-duplication races between processes) and a worker can die mid-job,
// so every handler is idempotent by its business key (account + day,
// order + due date, account + month, webhook + event): running a job
// twice, or on two workers at once, changes nothing the second time.
package jobs

import (
	"sort"

	"github.com/kubebank/kubebank/src/delivery"
)

// Namespace is the gocraft/work key prefix; ledger keys start with "bank:".
const Namespace = "bank-jobs"

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
	WebhookDelivery      = delivery.Job
	OutboxRelay          = "outbox-relay"
)

// Names lists every job the worker handles, sorted.
func Names() []string {
	n := []string{InterestAccrual, InterestAccrualBatch, DormancySweep, DormancySweepBatch, MonthlyStatements,
		MonthlyStatementsB, StandingOrders, HoldExpiry, Reconciliation, WebhookDelivery, OutboxRelay}
	sort.Strings(n)
	return n
}
