package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gocraft/work"
)

// periodicPrefix starts the id gocraft/work's periodic enqueuer gives a
// slot: "periodic:<job>:<spec>:<unix seconds of the slot>".
const periodicPrefix = "periodic:"

// PeriodicID is the id gocraft/work's periodic enqueuer gives the slot at
// epoch (Unix seconds) of job on cron spec; SlotOf reads it back.
func PeriodicID(job, spec string, epoch int64) string {
	return fmt.Sprintf("%s%s:%s:%d", periodicPrefix, job, spec, epoch)
}

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

// HandleJob runs a job taken from a queue. A periodic job enqueued by
// gocraft's enqueuer carries no arguments: its business date or month is
// derived from its slot, in the bank's zone, so that every firing of a
// slot, whichever pool enqueued it and however late it runs, works on the
// same business key. Jobs with arguments (`bank jobs run --date`, fan-out
// batches, webhooks) run with them.
func (r *Runner) HandleJob(ctx context.Context, j *work.Job) error {
	args := j.Args
	if len(args) == 0 {
		if slot, ok := SlotOf(j); ok {
			args = ArgsForSlot(j.Name, slot.In(r.opt.Location))
		}
	}
	return r.Handle(ctx, j.Name, args)
}
