// Package worker runs the jobs' handlers on a gocraft/work worker pool,
// with a metric per job run.
package worker

import (
	"context"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/jobs"
)

// Worker is a gocraft/work pool running a Runner's handlers.
type Worker struct {
	wp      *work.WorkerPool
	cancel  context.CancelFunc
	stopped chan struct{}
}

// Options configure the pool.
type Options struct {
	Namespace   string // default jobs.Namespace
	Concurrency uint   // default 4
	Metrics     *Metrics
	// Webhook is how webhook deliveries are retried (jobs.Retry's
	// defaults when zero).
	Webhook jobs.Retry
}

// workerCtx is gocraft/work's per-job context type; handlers here are
// closures, so it is empty.
type workerCtx struct{}

// New builds a pool on pool for every job name; Start runs it.
func New(pool *redis.Pool, r *jobs.Runner, o Options) *Worker {
	if o.Namespace == "" {
		o.Namespace = jobs.Namespace
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{wp: work.NewWorkerPool(workerCtx{}, o.Concurrency, o.Namespace, pool), cancel: cancel, stopped: make(chan struct{})}
	if o.Metrics != nil {
		w.wp.Middleware(o.Metrics.observe)
	}
	log := r.Options().Log
	for _, name := range jobs.Names() {
		w.wp.JobWithOptions(name, jobs.WorkOptions(name, o.Webhook), func(j *work.Job) error {
			err := r.HandleJob(ctx, j)
			if err != nil {
				log.Warn("job failed", "job", j.Name, "id", j.ID, "fails", j.Fails+1, "err", err.Error())
				return err
			}
			// The job's work is done whatever happens here: a lost note
			// only delays the last-success metric to the next run.
			if err := jobs.RecordSuccess(ctx, pool, o.Namespace, j.Name, time.Now()); err != nil {
				log.Warn("job succeeded; its last success was not recorded", "job", j.Name, "id", j.ID, "err", err.Error())
			}
			return nil
		})
	}
	return w
}

// Start starts fetching and running jobs.
func (w *Worker) Start() { w.wp.Start() }

// Stop stops taking new jobs and waits for the running ones. Jobs still
// running after grace are cancelled: their handlers return, and gocraft/work
// puts them on the retry queue, handing them back to another worker (the
// handlers being idempotent, the part already done is not redone).
func (w *Worker) Stop(grace time.Duration) {
	go func() {
		w.wp.Stop()
		close(w.stopped)
	}()
	select {
	case <-w.stopped:
	case <-time.After(grace):
		w.cancel()
		<-w.stopped
	}
	w.cancel()
}
