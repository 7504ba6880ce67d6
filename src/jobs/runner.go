package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gocraft/work"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Options configure the handlers.
type Options struct {
	Location     *time.Location // the bank's days and months; default UTC
	BatchSize    int            // accounts per batch job; default 500
	DormantAfter time.Duration  // default 180 days
	// AccrualChunk is how many accruals go to Redis in one pipelined
	// round trip (default 256); Pace is a pause between chunks, to bound
	// what a large batch asks of a Redis shared with the API.
	AccrualChunk int
	Pace         time.Duration
	// Inline runs fan-out batches in this process instead of enqueueing
	// them (operators' `bank jobs run --inline`, benchmarks).
	Inline bool
	Log    *slog.Logger
	// Backlog, when set, counts per job the accounts or orders that a
	// bounded catch-up run left with days still to do (the worker passes
	// Metrics.Backlog).
	Backlog *prometheus.CounterVec
}

// WithDefaults returns o with its zero fields set to their defaults
// (main builds the stores that must agree with them, e.g. the zone).
func (o Options) WithDefaults() Options {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.DormantAfter == 0 {
		o.DormantAfter = 180 * 24 * time.Hour
	}
	if o.AccrualChunk <= 0 {
		o.AccrualChunk = 256
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Deps are what the handlers work on, built by the caller (cmd/bank) on
// the ledger's Redis. A job uses only some of them: a runner for a few
// jobs (a test's) may leave the others nil.
type Deps struct {
	Ledger *ledger.Ledger
	// Enqueuer, on the jobs namespace, takes Enqueue's jobs and the
	// fan-out batches.
	Enqueuer   *work.Enqueuer
	Statements *statements.Store
	Standing   *standing.Store // in the bank's zone, Options.Location
	// Publisher announces statements and failed standing orders; Relay
	// and Deliverer run the outbox-relay and webhook-delivery jobs.
	Publisher Publisher
	Relay     Relay
	Deliverer *webhooks.Deliverer
}

// Runner executes jobs. The worker pool calls Handle; so do operators.
type Runner struct {
	l          *ledger.Ledger
	opt        Options
	enq        *work.Enqueuer
	Statements *statements.Store
	Standing   *standing.Store
	Publisher  Publisher
	relay      Relay
	deliver    *webhooks.Deliverer
}

// New returns a runner of the handlers on d.
func New(d Deps, o Options) *Runner {
	return &Runner{l: d.Ledger, opt: o.WithDefaults(), enq: d.Enqueuer, Statements: d.Statements, Standing: d.Standing,
		Publisher: d.Publisher, relay: d.Relay, deliver: d.Deliverer}
}

// Options returns the runner's effective options.
func (r *Runner) Options() Options { return r.opt }

// Enqueue puts a job on its queue for the workers and returns its id.
func (r *Runner) Enqueue(name string, args map[string]any) (string, error) {
	j, err := r.enq.Enqueue(name, args)
	if err != nil {
		return "", fmt.Errorf("jobs: enqueue %s: %w", name, err)
	}
	return j.ID, nil
}

// Handle runs one job in this process.
func (r *Runner) Handle(ctx context.Context, name string, args map[string]any) error {
	h, ok := handlers[name]
	if !ok {
		return fmt.Errorf("jobs: unknown job %q", name)
	}
	return h(r, ctx, jobArgs(args))
}

// A handler runs one job with its arguments.
type handler func(r *Runner, ctx context.Context, a jobArgs) error

// handlers holds the handler of every job name. It is filled by init:
// the fan-out handlers run batches through Handle, which reads it.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		InterestAccrual: onDay(func(r *Runner, ctx context.Context, d bank.Day, _ jobArgs) error {
			return r.fanOut(ctx, InterestAccrualBatch, map[string]any{"date": d.Date})
		}),
		InterestAccrualBatch: onDay(func(r *Runner, ctx context.Context, d bank.Day, a jobArgs) error {
			return errOnly(r.AccrueInterest(ctx, a.strs("accounts"), d))
		}),
		DormancySweep: onDay(func(r *Runner, ctx context.Context, d bank.Day, _ jobArgs) error {
			return r.fanOut(ctx, DormancySweepBatch, map[string]any{"date": d.Date})
		}),
		DormancySweepBatch: onDay(func(r *Runner, ctx context.Context, d bank.Day, a jobArgs) error {
			return errOnly(r.SweepDormant(ctx, a.strs("accounts"), d))
		}),
		MonthlyStatements: func(r *Runner, ctx context.Context, a jobArgs) error {
			if _, err := statements.ParseMonth(a.str("month"), r.opt.Location); err != nil {
				return err
			}
			return r.fanOut(ctx, MonthlyStatementsB, map[string]any{"month": a.str("month")})
		},
		MonthlyStatementsB: func(r *Runner, ctx context.Context, a jobArgs) error {
			return errOnly(r.IssueStatements(ctx, a.strs("accounts"), a.str("month")))
		},
		StandingOrders: onDay(func(r *Runner, ctx context.Context, d bank.Day, _ jobArgs) error {
			return errOnly(r.RunStandingOrders(ctx, d))
		}),
		HoldExpiry:      func(r *Runner, ctx context.Context, _ jobArgs) error { return errOnly(r.ExpireHolds(ctx)) },
		Reconciliation:  func(r *Runner, ctx context.Context, _ jobArgs) error { return errOnly(r.Reconcile(ctx)) },
		OutboxRelay:     func(r *Runner, ctx context.Context, _ jobArgs) error { return errOnly(r.RelayOutbox(ctx)) },
		WebhookDelivery: deliverWebhook,
	}
}

// onDay is the handler of a job that works on the business day in its
// "date" argument.
func onDay(run func(r *Runner, ctx context.Context, day bank.Day, a jobArgs) error) handler {
	return func(r *Runner, ctx context.Context, a jobArgs) error {
		d, err := bank.ParseDay(a.str("date"), r.opt.Location)
		if err != nil {
			return err
		}
		return run(r, ctx, d, a)
	}
}

// errOnly drops a handler's summary: a job's outcome is its error.
func errOnly[T any](_ T, err error) error { return err }

// fanOut splits every account number into batches of BatchSize and
// enqueues one batch job each (or runs them here when Inline). Duplicated
// batches are harmless: the batch handlers are idempotent.
func (r *Runner) fanOut(ctx context.Context, batchJob string, base map[string]any) error {
	nums, err := r.l.AccountNumbers(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < len(nums); i += r.opt.BatchSize {
		batch := nums[i:min(i+r.opt.BatchSize, len(nums))]
		args := map[string]any{"accounts": batch}
		for k, v := range base {
			args[k] = v
		}
		if r.opt.Inline {
			if err := r.Handle(ctx, batchJob, args); err != nil {
				return err
			}
			continue
		}
		// Unique while queued: a second firing of the same slot does not
		// double the backlog (the handlers would shrug it off anyway).
		if _, err := r.enq.EnqueueUnique(batchJob, args); err != nil {
			return fmt.Errorf("jobs: enqueue %s: %w", batchJob, err)
		}
	}
	r.opt.Log.Info("fanned out", "job", batchJob, "accounts", len(nums), "batch_size", r.opt.BatchSize)
	return nil
}

// CatchUpJobs are the jobs that report a catch-up backlog (Options.Backlog).
var CatchUpJobs = []string{InterestAccrual, StandingOrders}

// backlog reports n items (accounts, orders) left with missed days after
// a bounded catch-up run; the next runs work them off.
func (r *Runner) backlog(job string, n int) {
	if n > 0 && r.opt.Backlog != nil {
		r.opt.Backlog.WithLabelValues(job).Add(float64(n))
	}
}

// jobArgs reads gocraft/work's JSON-decoded arguments.
type jobArgs map[string]any

func (a jobArgs) str(k string) string { s, _ := a[k].(string); return s }

func (a jobArgs) strs(k string) []string {
	switch v := a[k].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
