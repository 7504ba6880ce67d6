package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"
	"github.com/robfig/cron"
)

// DefaultSchedule is when the scheduler enqueues each periodic job, as
// cron specs (minute hour day-of-month month day-of-week, optionally with
// a leading seconds field) in the scheduler's time zone.
var DefaultSchedule = map[string]string{
	InterestAccrual:   "5 0 * * *",  // 00:05 daily, for the day that just ended
	DormancySweep:     "30 1 * * 0", // Sunday 01:30
	MonthlyStatements: "10 0 1 * *", // 00:10 on the 1st, for the previous month
	StandingOrders:    "* * * * *",  // every minute, for today
	HoldExpiry:        "* * * * *",  // every minute
	Reconciliation:    "0 * * * *",  // hourly
}

// ArgsForSlot returns the arguments of a periodic job fired at slot (in
// the bank's zone): the business date or month it works on. Every firing
// of the same slot carries the same business key.
func ArgsForSlot(job string, slot time.Time) map[string]any {
	switch job {
	case InterestAccrual, DormancySweep:
		return map[string]any{"date": slot.AddDate(0, 0, -1).Format("2006-01-02")}
	case MonthlyStatements:
		y, m, _ := slot.Date()
		return map[string]any{"month": time.Date(y, m-1, 1, 0, 0, 0, 0, slot.Location()).Format("2006-01")}
	case StandingOrders:
		return map[string]any{"date": slot.Format("2006-01-02")}
	}
	return map[string]any{"slot": slot.Format(time.RFC3339)}
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

// Entry is one periodic job.
type Entry struct {
	Job      string
	Spec     string
	schedule cron.Schedule
}

var secondsParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseEntry parses a cron spec with 5 fields, or 6 with seconds first.
func ParseEntry(job, spec string) (Entry, error) {
	var s cron.Schedule
	var err error
	if len(strings.Fields(spec)) == 6 {
		s, err = secondsParser.Parse(spec)
	} else {
		s, err = cron.ParseStandard(spec)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("schedule %s: %q: %v", job, spec, err)
	}
	return Entry{Job: job, Spec: spec, schedule: s}, nil
}

// ParseSchedule merges overrides "job=spec;job=spec" (spec "off" disables
// a job) into the default schedule.
func ParseSchedule(overrides string) ([]Entry, error) {
	specs := map[string]string{}
	for k, v := range DefaultSchedule {
		specs[k] = v
	}
	for _, part := range strings.Split(overrides, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		job, spec, ok := strings.Cut(part, "=")
		job, spec = strings.TrimSpace(job), strings.TrimSpace(spec)
		if _, known := DefaultSchedule[job]; !ok || !known {
			return nil, fmt.Errorf("schedule: %q: want job=cron-spec with job one of %s", part, strings.Join(periodicNames(), ", "))
		}
		specs[job] = spec
	}
	var out []Entry
	for _, job := range periodicNames() {
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

func periodicNames() []string {
	var n []string
	for k := range DefaultSchedule {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Scheduler enqueues periodic jobs. Several replicas may run: each slot
// is claimed in Redis (SET NX) by the first one to see it, so a slot is
// normally enqueued once; the handlers stay idempotent for when it is not
// (a claim that expired, an operator re-run).
type Scheduler struct {
	pool      *redis.Pool
	enq       *work.Enqueuer
	namespace string
	entries   []Entry
	loc       *time.Location
	log       *slog.Logger
	// Now is the scheduler's clock; tests replace it.
	Now func() time.Time
	// CatchUp is how far back a starting scheduler looks for a slot it
	// missed (only the latest missed slot of each job is fired).
	CatchUp time.Duration
	// ClaimTTL is how long a fired slot stays claimed.
	ClaimTTL time.Duration
	Hostname string
	last     map[string]time.Time
	// Fired counts slots this scheduler enqueued, for metrics/tests.
	Fired func(job string, slot time.Time)
}

// NewScheduler returns a scheduler for entries in zone loc.
func NewScheduler(pool *redis.Pool, namespace string, entries []Entry, loc *time.Location, log *slog.Logger) *Scheduler {
	if namespace == "" {
		namespace = Namespace
	}
	host, _ := os.Hostname()
	return &Scheduler{pool: pool, enq: work.NewEnqueuer(namespace, pool), namespace: namespace, entries: entries,
		loc: loc, log: log, Now: time.Now, CatchUp: time.Hour, ClaimTTL: 72 * time.Hour, Hostname: host}
}

// Tick enqueues every slot that is due since the previous tick and
// returns how many slots it enqueued (claimed) itself.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.Now().In(s.loc)
	if s.last == nil {
		s.last = map[string]time.Time{}
		for _, e := range s.entries {
			s.last[e.Job] = now.Add(-s.CatchUp)
		}
	}
	fired := 0
	for _, e := range s.entries {
		// Only the latest due slot fires: the jobs catch up by themselves
		// (interest accrues missed days, standing orders pay missed dates).
		var due time.Time
		for t := e.schedule.Next(s.last[e.Job]); !t.After(now); t = e.schedule.Next(t) {
			due = t
		}
		if due.IsZero() {
			continue
		}
		ok, err := s.fire(ctx, e.Job, due)
		if err != nil {
			return fired, err
		}
		s.last[e.Job] = due
		if ok {
			fired++
		}
	}
	return fired, nil
}

func (s *Scheduler) fire(ctx context.Context, job string, slot time.Time) (bool, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return false, err
	}
	claim := s.namespace + ":schedule:" + job + ":" + strconv.FormatInt(slot.Unix(), 10)
	_, err = redis.String(c.Do("SET", claim, s.Hostname, "NX", "EX", int(s.ClaimTTL.Seconds())))
	c.Close()
	if err == redis.ErrNil {
		return false, nil // another scheduler enqueued this slot
	}
	if err != nil {
		return false, fmt.Errorf("scheduler: claim %s: %w", claim, err)
	}
	args := ArgsForSlot(job, slot)
	j, err := s.enq.Enqueue(job, args)
	if err != nil {
		// Release the claim so another tick or replica can retry the slot.
		if c, e := s.pool.GetContext(ctx); e == nil {
			c.Do("DEL", claim)
			c.Close()
		}
		return false, fmt.Errorf("scheduler: enqueue %s: %w", job, err)
	}
	s.log.Info("enqueued", "job", job, "slot", slot.Format(time.RFC3339), "id", j.ID, "args", args)
	if s.Fired != nil {
		s.Fired(job, slot)
	}
	return true, nil
}

// Run ticks every interval until ctx is done.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler tick", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
