package schedule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/gocraft/work"
	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/schedule"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestMain makes the tests' bank zone, UTC, the process's time.Local (set
// before any goroutine): the scheduler's gocraft enqueuer computes slots in it.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}

func TestScheduleParsing(t *testing.T) {
	entries, err := schedule.Parse("interest-accrual=5 0 * * *;hold-expiry=off;reconciliation=*/2 * * * * *")
	if err != nil {
		t.Fatal(err)
	}
	specs := map[string]string{}
	for _, e := range entries {
		specs[e.Job] = e.Spec
	}
	// A five-field spec gets second 0; gocraft would read it as seconds.
	if specs[jobs.InterestAccrual] != "0 5 0 * * *" {
		t.Fatalf("interest spec %q, want the 5-field spec with second 0", specs[jobs.InterestAccrual])
	}
	if _, on := specs[jobs.HoldExpiry]; on {
		t.Fatal("hold-expiry=off still scheduled")
	}
	if specs[jobs.Reconciliation] != "*/2 * * * * *" || specs[jobs.StandingOrders] != schedule.Default[jobs.StandingOrders] {
		t.Fatalf("specs %v", specs)
	}
	for _, bad := range []string{"interest-accrual=61 * * * *", "nope=* * * * *", "interest-accrual=* *"} {
		if _, err := schedule.Parse(bad); err == nil {
			t.Fatalf("%q was accepted", bad)
		}
	}
	// Every default fires where the docs say (slots in UTC here).
	for _, e := range entries {
		if e.Job == jobs.InterestAccrual {
			next := e.Next(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			if !next.Equal(time.Date(2026, 3, 1, 0, 5, 0, 0, time.UTC)) {
				t.Fatalf("interest next slot %v", next)
			}
		}
	}
}

func queued(t *testing.T, pool *redis.Pool, job string) []work.Job {
	t.Helper()
	c := pool.Get()
	defer c.Close()
	raws, err := redis.ByteSlices(c.Do("LRANGE", jobs.Namespace+":jobs:"+job, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	var out []work.Job
	for _, raw := range raws {
		var j work.Job
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

func zcard(t *testing.T, pool *redis.Pool, key string) int {
	t.Helper()
	c := pool.Get()
	defer c.Close()
	n, err := redis.Int(c.Do("ZCARD", jobs.Namespace+":"+key))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The scheduler alone: gocraft's enqueuer puts the seconds slots in the
// scheduled set, the scheduler pool's requeuer moves due ones to their
// queue (not to the dead set), and nothing runs them (no worker). On
// start, the latest missed slot (the top of the hour) is caught up.
func TestSchedulerOnlyEnqueues(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	pool := srv.Pool(t)
	entries, err := schedule.Parse("hold-expiry=* * * * * *;reconciliation=0 0 * * * *;interest-accrual=off;dormancy-sweep=off;monthly-statements=off;standing-orders=off;outbox-relay=off")
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.NewScheduler(srv.Pool(t), "", entries, time.UTC, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s.CatchUp = time.Hour
	start := time.Now()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(queued(t, pool, jobs.HoldExpiry)) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	holds := queued(t, pool, jobs.HoldExpiry)
	if len(holds) < 2 {
		t.Fatalf("%d hold-expiry jobs queued in 10s by an every-second schedule", len(holds))
	}
	for _, j := range holds {
		slot, ok := jobs.SlotOf(&j)
		if !ok || len(j.Args) != 0 || slot.Before(start.Truncate(time.Second)) {
			t.Fatalf("queued %+v: want a gocraft periodic job (no args, id with a slot after the start)", j)
		}
	}
	if n := zcard(t, pool, "dead"); n != 0 {
		t.Fatalf("%d jobs dead-lettered by the scheduler's pool", n)
	}
	if n := zcard(t, pool, "scheduled"); n < 200 {
		t.Fatalf("%d slots scheduled ahead, want gocraft's 4-minute horizon of seconds", n)
	}
	recon := queued(t, pool, jobs.Reconciliation)
	hour := start.Truncate(time.Hour)
	if len(recon) != 1 || recon[0].ID != fmt.Sprintf("periodic:%s:0 0 * * * *:%d", jobs.Reconciliation, hour.Unix()) {
		t.Fatalf("caught-up reconciliation %+v, want the %v slot", recon, hour)
	}
	// Nothing was executed: no reconciliation result was stored.
	if _, ok, _ := ledger.New(pool).LastReconciliation(ctx); ok {
		t.Fatal("the scheduler ran a job")
	}
}
