package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron"
)

// DefaultSchedule is when the scheduler enqueues each periodic job: cron
// specs with a leading seconds field (gocraft/work's format), in the
// bank's time zone.
var DefaultSchedule = map[string]string{
	InterestAccrual:   "0 5 0 * * *",   // 00:05 daily, for the day that just ended
	DormancySweep:     "0 30 1 * * 0",  // Sunday 01:30, for the day that just ended
	MonthlyStatements: "0 10 0 1 * *",  // 00:10 on the 1st, for the previous month
	StandingOrders:    "0 * * * * *",   // every minute, for today
	HoldExpiry:        "0 * * * * *",   // every minute
	Reconciliation:    "0 0 * * * *",   // hourly
	OutboxRelay:       "*/5 * * * * *", // every 5 seconds: posting events to webhooks
}

// ArgsForSlot returns the arguments of a periodic job fired at slot (in
// the bank's zone): the business date or month it works on, which for
// interest, dormancy and statements is the day or month that just ended.
// Every firing of the same slot carries the same business key.
func ArgsForSlot(job string, slot time.Time) map[string]any {
	switch job {
	case InterestAccrual, DormancySweep:
		slot = slot.AddDate(0, 0, -1)
	case MonthlyStatements:
		y, m, _ := slot.Date()
		slot = time.Date(y, m-1, 1, 0, 0, 0, 0, slot.Location())
	}
	return ArgsForDate(job, slot)
}

// ArgsForDate returns the arguments to run job by hand for a business
// date: interest and dormancy for that day, standing orders due by that
// day, statements for the month containing it.
func ArgsForDate(job string, date time.Time) map[string]any {
	switch job {
	case InterestAccrual, DormancySweep, StandingOrders:
		return map[string]any{"date": date.Format("2006-01-02")}
	case MonthlyStatements:
		return map[string]any{"month": date.Format("2006-01")}
	}
	return map[string]any{}
}

// periodicPrefix starts the id gocraft/work's periodic enqueuer gives a
// slot: "periodic:<job>:<spec>:<unix seconds of the slot>".
const periodicPrefix = "periodic:"

// SlotOf returns the slot a periodic job was enqueued for. It reads the
// job id, not EnqueuedAt: the periodic enqueuer does set EnqueuedAt to the
// slot, but the requeuer that moves the job from the scheduled set to its
// queue overwrites it with the time of the move (and so does every retry),
// so a retry after midnight would otherwise work on the wrong day. ok is
// false for a job that was not enqueued by a schedule.
func SlotOf(j *work.Job) (time.Time, bool) {
	if !strings.HasPrefix(j.ID, periodicPrefix) {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(j.ID, ':')
	epoch, err := strconv.ParseInt(j.ID[i+1:], 10, 64)
	if err != nil || epoch <= 0 {
		return time.Time{}, false
	}
	return time.Unix(epoch, 0), true
}

// Entry is one periodic job.
type Entry struct {
	Job string
	// Spec is the six-field form handed to gocraft/work (seconds first).
	Spec     string
	schedule cron.Schedule
}

// Next returns the entry's first slot after t, in t's zone.
func (e Entry) Next(t time.Time) time.Time { return e.schedule.Next(t) }

// ParseEntry parses a cron spec: six fields with seconds first (gocraft's
// format), or a classic five-field spec (min hour dom month dow), which
// gets "0" seconds. The five-field form must be translated here: gocraft
// parses with an optional day-of-week, so it would silently read
// "5 0 * * *" as second 5 of minute 0 of every hour.
func ParseEntry(job, spec string) (Entry, error) {
	spec = strings.Join(strings.Fields(spec), " ")
	if n := len(strings.Fields(spec)); n == 5 {
		spec = "0 " + spec
	} else if n != 6 && !strings.HasPrefix(spec, "@") {
		return Entry{}, fmt.Errorf("schedule %s: %q: want 6 fields (sec min hour dom month dow) or 5 (min hour dom month dow)", job, spec)
	}
	s, err := cron.Parse(spec) // gocraft/work's own parser: what it accepts, it will run
	if err != nil {
		return Entry{}, fmt.Errorf("schedule %s: %q: %v", job, spec, err)
	}
	return Entry{Job: job, Spec: spec, schedule: s}, nil
}

// ParseSchedule merges overrides "job=spec;job=spec" (spec "off" disables
// a job) into the default schedule.
func ParseSchedule(overrides string) ([]Entry, error) {
	specs := maps.Clone(DefaultSchedule)
	for _, part := range strings.Split(overrides, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		job, spec, ok := strings.Cut(part, "=")
		job, spec = strings.TrimSpace(job), strings.TrimSpace(spec)
		if _, known := DefaultSchedule[job]; !ok || !known {
			return nil, fmt.Errorf("schedule: %q: want job=cron-spec with job one of %s", part, strings.Join(PeriodicNames(), ", "))
		}
		specs[job] = spec
	}
	var out []Entry
	for _, job := range PeriodicNames() {
		if specs[job] == "off" {
			continue
		}
		e, err := ParseEntry(job, specs[job])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// PeriodicNames lists the jobs of DefaultSchedule, sorted.
func PeriodicNames() []string { return slices.Sorted(maps.Keys(DefaultSchedule)) }

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
		namespace = Namespace
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
	wp := work.NewWorkerPool(workerCtx{}, 0, namespace, pool)
	for _, name := range Names() {
		wp.JobWithOptions(name, jobOptions(name, 0, nil), func(*work.Job) error { return errNotExecutedHere })
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
		for t := e.schedule.Next(now.Add(-s.CatchUp)); !t.After(now); t = e.schedule.Next(t) {
			due = t
		}
		if due.IsZero() {
			continue
		}
		epoch := due.Unix()
		raw, err := json.Marshal(&work.Job{Name: e.Job, ID: fmt.Sprintf("%s%s:%s:%d", periodicPrefix, e.Job, e.Spec, epoch), EnqueuedAt: epoch})
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

// SchedulerCollector exports when gocraft's enqueuer last ran (any pool
// of the namespace) and each entry's next slot. gocraft offers no hook on
// what it enqueues, so there is no per-slot counter.
type SchedulerCollector struct {
	pool      *redis.Pool
	namespace string
	entries   []Entry
	last      *prometheus.Desc
	next      *prometheus.Desc
}

// NewSchedulerCollector returns the collector for a scheduler's entries.
func NewSchedulerCollector(pool *redis.Pool, namespace string, entries []Entry) *SchedulerCollector {
	if namespace == "" {
		namespace = Namespace
	}
	return &SchedulerCollector{pool: pool, namespace: namespace, entries: entries,
		last: prometheus.NewDesc("bank_scheduler_last_enqueue_timestamp_seconds", "Unix time of the last pass of gocraft/work's periodic enqueuer in the namespace.", nil, nil),
		next: prometheus.NewDesc("bank_scheduler_next_slot_timestamp_seconds", "Unix time of the next slot of each periodic job.", []string{JobLabel}, nil)}
}

// Describe implements prometheus.Collector.
func (sc *SchedulerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sc.last; ch <- sc.next }

// Collect implements prometheus.Collector.
func (sc *SchedulerCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, e := range sc.entries {
		ch <- prometheus.MustNewConstMetric(sc.next, prometheus.GaugeValue, float64(e.schedule.Next(now).Unix()), e.Job)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := sc.pool.GetContext(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	if last, err := redis.Int64(c.Do("GET", sc.namespace+":last_periodic_enqueue")); err == nil {
		ch <- prometheus.MustNewConstMetric(sc.last, prometheus.GaugeValue, float64(last))
	}
}
