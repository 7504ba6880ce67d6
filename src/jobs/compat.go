package jobs

import (
	"github.com/gocraft/work"

	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// NewRunner returns a runner whose dependencies are built here, on the
// ledger's own pool, enqueueing into Namespace, with webhooks only to
// public https endpoints.
//
// Deprecated: build the Deps and call New, as cmd/bank and jobstest do.
// This is kept only for src/web/money_test.go, which another refactor
// owns; delete this file once that test calls jobstest.NewRunner.
func NewRunner(l *ledger.Ledger, o Options) *Runner {
	o = o.withDefaults()
	pool := l.Pool()
	hooks := webhooks.NewStore(pool, webhooks.Options{})
	enq := work.NewEnqueuer(Namespace, pool)
	pub := delivery.NewPublisher(hooks, enq)
	return New(Deps{Ledger: l, Enqueuer: enq, Statements: statements.NewStore(pool), Standing: standing.NewStore(l, o.Location),
		Publisher: pub, Relay: delivery.NewRelay(pool, l, pub, o.Log), Deliverer: delivery.NewDeliverer(hooks, webhooks.Options{})}, o)
}
