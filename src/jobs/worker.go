package jobs

import (
	"context"
	"time"

	"github.com/gocraft/work"
)

// Worker is a gocraft/work pool running the Runner's handlers.
type Worker struct {
	wp      *work.WorkerPool
	cancel  context.CancelFunc
	stopped chan struct{}
}

// WorkerOptions configure the pool.
type WorkerOptions struct {
	Concurrency uint
	Metrics     *Metrics // nil: no job metrics
}

// workerCtx is gocraft/work's per-job context type; handlers here are
// closures, so it is empty.
type workerCtx struct{}

// NewWorker builds a pool for every job name; Start runs it.
func NewWorker(r *Runner, o WorkerOptions) *Worker {
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{wp: work.NewWorkerPool(workerCtx{}, o.Concurrency, r.opt.Namespace, r.l.Pool()), cancel: cancel, stopped: make(chan struct{})}
	if m := o.Metrics; m != nil {
		w.wp.Middleware(func(j *work.Job, next work.NextMiddlewareFunc) error {
			start := time.Now()
			err := next()
			m.Duration.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
			if err != nil {
				m.Failed.WithLabelValues(j.Name).Inc()
			} else {
				m.Processed.WithLabelValues(j.Name).Inc()
			}
			return err
		})
	}
	for _, name := range Names() {
		w.wp.JobWithOptions(name, jobOptions(name, r.opt.WebhookAttempts, r.opt.WebhookBackoff), func(j *work.Job) error {
			err := r.HandleJob(ctx, j)
			if err != nil {
				r.opt.Log.Warn("job failed", "job", j.Name, "id", j.ID, "fails", j.Fails+1, "err", err.Error())
			}
			return err
		})
	}
	return w
}

// jobOptions are a job type's options. The scheduler's pool registers
// the same names with the same options: gocraft writes MaxConcurrency to
// Redis from every pool that registers a name, so they must agree.
func jobOptions(name string, webhookAttempts uint, webhookBackoff func(int64) int64) work.JobOptions {
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
		if webhookAttempts == 0 {
			webhookAttempts = 8
		}
		o := work.JobOptions{MaxFails: webhookAttempts}
		if webhookBackoff != nil {
			o.Backoff = func(j *work.Job) int64 { return webhookBackoff(j.Fails) }
		}
		return o
	}
	return work.JobOptions{MaxFails: 4}
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
