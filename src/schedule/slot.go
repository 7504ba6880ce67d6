package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gocraft/work"
)

// periodicPrefix starts the id gocraft/work's periodic enqueuer gives a
// slot: "periodic:<job>:<spec>:<unix seconds of the slot>".
const periodicPrefix = "periodic:"

// slotID is the id gocraft/work's periodic enqueuer gives e's slot at
// epoch (Unix seconds); SlotOf reads it back.
func slotID(e Entry, epoch int64) string {
	return fmt.Sprintf("%s%s:%s:%d", periodicPrefix, e.Job, e.Spec, epoch)
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

// ArgsOf returns the arguments to run a job taken from a queue with. A
// periodic job enqueued by gocraft's enqueuer carries no arguments: its
// business date or month is derived from its slot, in the bank's zone
// loc, so that every firing of a slot, whichever pool enqueued it and
// however late it runs, works on the same business key. Jobs with
// arguments (`bank jobs run --date`, fan-out batches, webhooks) run with
// them.
func ArgsOf(j *work.Job, loc *time.Location) map[string]any {
	if len(j.Args) == 0 {
		if slot, ok := SlotOf(j); ok {
			return ArgsForSlot(j.Name, slot.In(loc))
		}
	}
	return j.Args
}
