// Package schedule is when the bank's periodic jobs run: the default cron
// specs and their overrides, and the Scheduler, gocraft/work's periodic
// enqueuer, with its catch-up of missed slots and its metrics. It only
// enqueues: the workers run the jobs (and jobs.ArgsForSlot says which
// business day or month a slot stands for).
package schedule

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron"

	"github.com/kubebank/kubebank/src/jobs"
)

// Default is when the scheduler enqueues each periodic job: cron specs
// with a leading seconds field (gocraft/work's format), in the bank's time
// zone.
var Default = map[string]string{
	jobs.InterestAccrual:   "0 5 0 * * *",   // 00:05 daily, for the day that just ended
	jobs.DormancySweep:     "0 30 1 * * 0",  // Sunday 01:30, for the day that just ended
	jobs.MonthlyStatements: "0 10 0 1 * *",  // 00:10 on the 1st, for the previous month
	jobs.StandingOrders:    "0 * * * * *",   // every minute, for today
	jobs.HoldExpiry:        "0 * * * * *",   // every minute
	jobs.Reconciliation:    "0 0 * * * *",   // hourly
	jobs.OutboxRelay:       "*/5 * * * * *", // every 5 seconds: posting events to webhooks
}

// PeriodicNames lists the jobs of Default, sorted.
func PeriodicNames() []string { return slices.Sorted(maps.Keys(Default)) }

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

// Parse merges overrides "job=spec;job=spec" (spec "off" disables a job)
// into the default schedule.
func Parse(overrides string) ([]Entry, error) {
	specs := maps.Clone(Default)
	for _, part := range strings.Split(overrides, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		job, spec, ok := strings.Cut(part, "=")
		job, spec = strings.TrimSpace(job), strings.TrimSpace(spec)
		if _, known := Default[job]; !ok || !known {
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
