// Package jobstest wires a jobs.Runner for tests the way cmd/bank wires
// the worker's, on a test's Redis.
package jobstest

import (
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// hookOptions let webhooks reach the tests' local receivers (plain http,
// loopback).
var hookOptions = webhooks.Options{AllowPrivate: true}

// Deps returns the dependencies of a Runner with options o on pool (l's
// Redis), enqueueing into jobs.Namespace, and the webhook store they
// deliver from.
func Deps(pool *redis.Pool, l *ledger.Ledger, o jobs.Options) (jobs.Deps, *webhooks.Store) {
	loc := o.Location
	if loc == nil {
		loc = time.UTC // as jobs.New's default
	}
	hooks := webhooks.NewStore(pool, hookOptions)
	enq := work.NewEnqueuer(jobs.Namespace, pool)
	pub := delivery.NewPublisher(hooks, enq)
	return jobs.Deps{Ledger: l, Enqueuer: enq, Statements: statements.NewStore(pool), Standing: standing.NewStore(l, loc),
		Publisher: pub, Relay: delivery.NewRelay(pool, l, pub, o.Log), Deliverer: delivery.NewDeliverer(hooks, hookOptions)}, hooks
}

// NewRunner returns a Runner with o on Deps(pool, l, o).
func NewRunner(pool *redis.Pool, l *ledger.Ledger, o jobs.Options) *jobs.Runner {
	d, _ := Deps(pool, l, o)
	return jobs.New(d, o)
}
