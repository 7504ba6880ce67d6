package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gocraft/work"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/delivery"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Options configure the handlers.
type Options struct {
	Namespace    string         // default Namespace
	Location     *time.Location // the bank's days and months; default UTC
	BatchSize    int            // accounts per batch job; default 500
	DormantAfter time.Duration  // default 180 days
	// Webhook retries: attempts before the dead set, and seconds to wait
	// after the n-th failure (default 10s·2^(n-1), capped at one hour).
	WebhookAttempts uint
	WebhookBackoff  func(fails int64) int64
	// WebhookAllowPrivate lets webhooks use plain http and reach
	// loopback/private addresses (`bank dev`, tests with local
	// receivers). Off in clusters: see webhooks.Options.
	WebhookAllowPrivate bool
	// HTTPClient delivers webhooks; default webhooks.NewClient, which
	// enforces the address rules at dial time (a client given here must
	// do that itself).
	HTTPClient *http.Client
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

// Runner executes jobs. The worker pool calls Handle; so do operators.
type Runner struct {
	l          *ledger.Ledger
	opt        Options
	enq        *work.Enqueuer
	Statements *statements.Store
	Standing   *standing.Store
	Hooks      *webhooks.Store
	Publisher  *delivery.Publisher
	relay      *delivery.Relay
	deliver    *webhooks.Deliverer
}

// NewRunner returns a runner on the ledger's Redis.
func NewRunner(l *ledger.Ledger, o Options) *Runner {
	if o.Namespace == "" {
		o.Namespace = Namespace
	}
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
	if o.WebhookAttempts == 0 {
		o.WebhookAttempts = 8
	}
	if o.WebhookBackoff == nil {
		o.WebhookBackoff = func(fails int64) int64 { return min(int64(10)<<min(fails-1, 20), 3600) }
	}
	hookOpt := webhooks.Options{AllowPrivate: o.WebhookAllowPrivate}
	if o.HTTPClient == nil {
		o.HTTPClient = webhooks.NewClient(hookOpt, 10*time.Second)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	hooks := webhooks.NewStore(l.Pool(), hookOpt)
	enq := work.NewEnqueuer(o.Namespace, l.Pool())
	pub := delivery.NewPublisher(hooks, enq)
	return &Runner{
		l: l, opt: o, enq: enq,
		Statements: statements.NewStore(l.Pool()),
		Standing:   standing.NewStore(l, o.Location),
		Hooks:      hooks,
		Publisher:  pub,
		relay:      delivery.NewRelay(l.Pool(), l, pub, o.Log),
		deliver:    &webhooks.Deliverer{Store: hooks, Client: o.HTTPClient, Now: time.Now},
	}
}

// RelayOutbox runs the outbox relay (the outbox-relay job) here.
func (r *Runner) RelayOutbox(ctx context.Context) (int, error) { return r.relay.RelayOutbox(ctx) }

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

// Handle runs one job in this process.
func (r *Runner) Handle(ctx context.Context, name string, args map[string]any) error {
	a := jobArgs(args)
	switch name {
	case InterestAccrual, DormancySweep:
		d, err := ledger.ParseDay(a.str("date"), r.opt.Location)
		if err != nil {
			return err
		}
		return r.fanOut(ctx, name+"-batch", map[string]any{"date": d.Date})
	case InterestAccrualBatch:
		d, err := ledger.ParseDay(a.str("date"), r.opt.Location)
		if err != nil {
			return err
		}
		_, err = r.AccrueInterest(ctx, a.strs("accounts"), d)
		return err
	case DormancySweepBatch:
		d, err := ledger.ParseDay(a.str("date"), r.opt.Location)
		if err != nil {
			return err
		}
		_, err = r.SweepDormant(ctx, a.strs("accounts"), d)
		return err
	case MonthlyStatements:
		if _, err := statements.ParseMonth(a.str("month"), r.opt.Location); err != nil {
			return err
		}
		return r.fanOut(ctx, MonthlyStatementsB, map[string]any{"month": a.str("month")})
	case MonthlyStatementsB:
		_, err := r.IssueStatements(ctx, a.strs("accounts"), a.str("month"))
		return err
	case StandingOrders:
		d, err := ledger.ParseDay(a.str("date"), r.opt.Location)
		if err != nil {
			return err
		}
		_, err = r.RunStandingOrders(ctx, d)
		return err
	case HoldExpiry:
		_, err := r.ExpireHolds(ctx)
		return err
	case Reconciliation:
		_, err := r.Reconcile(ctx)
		return err
	case OutboxRelay:
		_, err := r.RelayOutbox(ctx)
		return err
	case WebhookDelivery:
		return delivery.Deliver(ctx, r.deliver, args)
	}
	return fmt.Errorf("jobs: unknown job %q", name)
}

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
