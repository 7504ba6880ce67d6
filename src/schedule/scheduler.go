package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/jobs"
)

// ZoneIsLocal reports whether the process's time.Local was set to loc.
func ZoneIsLocal(loc *time.Location) bool { return time.Local.String() == loc.String() }

// Scheduler is gocraft/work's periodic enqueuer, run by a worker pool
// that executes nothing. Several replicas may run: gocraft's enqueuer
// de-duplicates only partly (see docs/jobs.md), so a slot can be enqueued
// more than once; the handlers are idempotent by business key for that.
type Scheduler struct {
	wp        *work.WorkerPool
	pool      *redis.Pool
	namespace string
	entries   []Entry
	log       *slog.Logger
	// CatchUp is how far back a starting scheduler looks for a slot it
	// missed; only the latest missed slot of each job is enqueued (the
	// jobs catch up by themselves: interest accrues missed days, standing
	// orders pay missed dates). Zero disables it.
	CatchUp time.Duration
}

// errNotExecutedHere is what the scheduler pool's handlers would return;
// they never run because the pool has no worker goroutines.
var errNotExecutedHere = errors.New("jobs: the scheduler does not execute jobs")

// NewScheduler returns a scheduler for entries in zone loc.
//
// gocraft/work computes slots with time.Unix(now, 0), i.e. in time.Local,
// and robfig/cron v1 (which it uses) has no per-spec time zone, so the
// only way to fire "00:05" at 00:05 in the bank's zone, daylight saving
// included, is that the process's time.Local is the bank's zone. The
// caller sets it before starting any goroutine (assigning time.Local
// while others read it is a data race); NewScheduler refuses otherwise.
// Converting the specs to UTC instead would be wrong twice a year.
func NewScheduler(pool *redis.Pool, namespace string, entries []Entry, loc *time.Location, log *slog.Logger) (*Scheduler, error) {
	if namespace == "" {
		namespace = jobs.Namespace
	}
	if !ZoneIsLocal(loc) {
		return nil, fmt.Errorf("jobs: scheduler in %s but the process's time.Local is %s: set time.Local first (gocraft/work computes slots in it)", loc, time.Local)
	}
	// Concurrency 0: NewWorkerPool creates no worker goroutines, so
	// nothing in this pool ever fetches or runs a job; Start still runs
	// the periodic enqueuer, the heartbeat and the requeuers.
	//
	// Every job name is registered all the same, with a handler that is
	// never called: the pool's requeuers (which move due jobs from the
	// scheduled and retry sets to their queues) only know the queues of
	// registered names, and send a due job of any other name to the dead
	// set ("unknown job when requeueing"). A pool with no job types would
	// therefore dead-letter the very periodic jobs it enqueues, and the
	// workers' retries. Registering the names also writes their
	// max_concurrency (0, as the worker's), which must stay identical.
	wp := work.NewWorkerPool(struct{}{}, 0, namespace, pool)
	for _, name := range jobs.Names() {
		wp.JobWithOptions(name, jobs.WorkOptions(name, jobs.Retry{}), func(*work.Job) error { return errNotExecutedHere })
	}
	for _, e := range entries {
		wp.PeriodicallyEnqueue(e.Spec, e.Job)
	}
	return &Scheduler{wp: wp, pool: pool, namespace: namespace, entries: entries, log: log, CatchUp: time.Hour}, nil
}

// Start enqueues the latest missed slots (CatchUp) and starts gocraft's
// periodic enqueuer.
func (s *Scheduler) Start(ctx context.Context) error {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.CatchUp > 0 {
		if err := s.catchUp(c, time.Now()); err != nil {
			return err
		}
	}
	// gocraft skips its first pass when any pool of the namespace (the
	// workers' pools run an empty periodic enqueuer too) wrote
	// last_periodic_enqueue in the last 2 seconds; the next pass is 2 to
	// 2.5 minutes away. Forget it so a (re)started scheduler enqueues now.
	if _, err := c.Do("DEL", s.namespace+":last_periodic_enqueue"); err != nil {
		return err
	}
	s.wp.Start()
	return nil
}

// catchUp adds each entry's latest slot in (now-CatchUp, now] to the
// scheduled set, as the very bytes gocraft's enqueuer writes for it (same
// id, EnqueuedAt = slot, no args), so that a slot gocraft already holds
// is not added twice; the requeuers move it to its queue at once.
func (s *Scheduler) catchUp(c redis.Conn, now time.Time) error {
	for _, e := range s.entries {
		var due time.Time
		for t := e.Next(now.Add(-s.CatchUp)); !t.After(now); t = e.Next(t) {
			due = t
		}
		if due.IsZero() {
			continue
		}
		epoch := due.Unix()
		raw, err := json.Marshal(&work.Job{Name: e.Job, ID: jobs.PeriodicID(e.Job, e.Spec, epoch), EnqueuedAt: epoch})
		if err != nil {
			return err
		}
		if _, err := c.Do("ZADD", s.namespace+":scheduled", epoch, raw); err != nil {
			return fmt.Errorf("scheduler: catch up %s: %w", e.Job, err)
		}
		s.log.Info("caught up", "job", e.Job, "slot", due.Format(time.RFC3339))
	}
	return nil
}

// Stop stops the enqueuer (slots already in the scheduled set stay there
// and are moved to their queues by the workers' requeuers).
func (s *Scheduler) Stop() { s.wp.Stop() }
