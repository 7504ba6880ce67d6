// Package jobs is kubebank's background banking on gocraft/work: the job
// handlers, the worker pool that runs them, the scheduler that enqueues
// the periodic ones, and their metrics.
//
// gocraft/work's own periodic enqueuer fires a slot more than once (its
// de-duplication races between processes) and a worker can die mid-job,
// so every handler is idempotent by its business key (account + day,
// order + due date, account + month, webhook + event): running a job
// twice, or on two workers at once, changes nothing the second time.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/gocraft/work"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Namespace is the gocraft/work key prefix; ledger keys start with "bank:".
const Namespace = "bank-jobs"

// Job names. The periodic ones fan out into "-batch" jobs over accounts.
const (
	InterestAccrual      = "interest-accrual"
	InterestAccrualBatch = "interest-accrual-batch"
	DormancySweep        = "dormancy-sweep"
	DormancySweepBatch   = "dormancy-sweep-batch"
	MonthlyStatements    = "monthly-statements"
	MonthlyStatementsB   = "monthly-statements-batch"
	StandingOrders       = "standing-orders"
	HoldExpiry           = "hold-expiry"
	Reconciliation       = "reconciliation"
	WebhookDelivery      = "webhook-delivery"
	OutboxRelay          = "outbox-relay"
)

// Names lists every job the worker handles, sorted.
func Names() []string {
	n := []string{InterestAccrual, InterestAccrualBatch, DormancySweep, DormancySweepBatch, MonthlyStatements,
		MonthlyStatementsB, StandingOrders, HoldExpiry, Reconciliation, WebhookDelivery, OutboxRelay}
	sort.Strings(n)
	return n
}

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
	Publisher  *Publisher
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
	return &Runner{
		l: l, opt: o, enq: work.NewEnqueuer(o.Namespace, l.Pool()),
		Statements: statements.NewStore(l.Pool()),
		Standing:   standing.NewStore(l.Pool(), l, o.Location),
		Hooks:      hooks,
		Publisher:  NewPublisher(l.Pool(), o.Namespace),
		deliver:    &webhooks.Deliverer{Store: hooks, Client: o.HTTPClient, Now: time.Now},
	}
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
		return r.deliver.Deliver(ctx, a.str("webhook"), a.str("event_id"), a.str("type"), []byte(a.str("body")))
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

// MaxInterestCatchUp bounds how many days one run accrues per account, so
// a long outage does not turn into one unbounded burst. Days are never
// skipped: a run starts at the oldest day not yet accrued (a new account
// starts on the day it was opened) and the next run continues from there,
// because a day left out would be lost for good (the accrual script only
// moves an account's last accrued day forward).
const MaxInterestCatchUp = 62

// AccrualSummary counts what a batch did.
type AccrualSummary struct {
	Accounts, Days, Posted int
	Amount                 int64
	Refused                int
	// Behind counts accounts that still have days to accrue up to the
	// requested day after this run (more than MaxInterestCatchUp missed).
	Behind int
}

// AccrueInterest accrues interest for every savings account among numbers
// up to and including day, catching up missed days in order.
func (r *Runner) AccrueInterest(ctx context.Context, numbers []string, day ledger.Day) (AccrualSummary, error) {
	var sum AccrualSummary
	accts, err := r.l.Accounts(ctx, numbers)
	if err != nil {
		return sum, err
	}
	var savings []bank.Account
	for _, a := range accts {
		if a.Type == bank.Savings && a.InterestRate > 0 && a.Status != bank.Closed {
			savings = append(savings, a)
		}
	}
	nums := make([]string, len(savings))
	for i, a := range savings {
		nums[i] = a.Number
	}
	states, err := r.l.InterestStates(ctx, nums)
	if err != nil {
		return sum, err
	}
	var reqs []ledger.Accrual
	for i, a := range savings {
		start := ledger.NewDay(a.CreatedAt, r.opt.Location).Ordinal
		if states[i].LastDay > 0 {
			start = states[i].LastDay + 1
		}
		if start > day.Ordinal {
			continue
		}
		end := min(day.Ordinal, start+MaxInterestCatchUp-1)
		if end < day.Ordinal {
			sum.Behind++
			r.opt.Log.Warn("interest catch-up backlog remains", "account", a.Number,
				"from", ledger.DayFromOrdinal(start, r.opt.Location).Date, "days_left", day.Ordinal-end)
		}
		sum.Accounts++
		for o := start; o <= end; o++ {
			reqs = append(reqs, ledger.Accrual{Account: a.Number, Currency: a.Currency, Day: ledger.DayFromOrdinal(o, r.opt.Location)})
		}
	}
	chunk := r.opt.AccrualChunk
	for i := 0; i < len(reqs); i += chunk {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if i > 0 && r.opt.Pace > 0 {
			time.Sleep(r.opt.Pace)
		}
		res, err := r.l.AccrueInterest(ctx, reqs[i:min(i+chunk, len(reqs))])
		if err != nil {
			return sum, err
		}
		for _, x := range res {
			sum.Days++
			if x.Err != nil {
				sum.Refused++
				r.opt.Log.Warn("interest refused", "account", x.Account, "date", x.Day.Date, "code", x.Err.Error())
				continue
			}
			if x.Status == "ok" && x.Amount > 0 {
				sum.Posted++
				sum.Amount += x.Amount
			}
		}
	}
	r.backlog(InterestAccrual, sum.Behind)
	return sum, nil
}

// backlog reports n items (accounts, orders) left with missed days after
// a bounded catch-up run; the next runs work them off.
func (r *Runner) backlog(job string, n int) {
	if n > 0 && r.opt.Backlog != nil {
		r.opt.Backlog.WithLabelValues(job).Add(float64(n))
	}
}

// SweepDormant flags active customer accounts among numbers with no
// customer activity in the DormantAfter before the end of day.
func (r *Runner) SweepDormant(ctx context.Context, numbers []string, day ledger.Day) (int, error) {
	cutoff := day.End.Add(-r.opt.DormantAfter)
	accts, err := r.l.Accounts(ctx, numbers)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range accts {
		if a.Type == bank.System || a.Status != bank.Active || !a.LastActivity.Before(cutoff) {
			continue
		}
		// MarkDormant re-checks inside its script: activity racing the
		// sweep keeps the account active.
		ok, err := r.l.MarkDormant(ctx, a.Number, cutoff)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// IssueStatements builds and stores month's statement for each customer
// account among numbers that existed before the month ended.
func (r *Runner) IssueStatements(ctx context.Context, numbers []string, month string) (int, error) {
	start, err := statements.ParseMonth(month, r.opt.Location)
	if err != nil {
		return 0, err
	}
	end := start.AddDate(0, 1, 0)
	accts, err := r.l.Accounts(ctx, numbers)
	if err != nil {
		return 0, err
	}
	issued := 0
	for _, a := range accts {
		if a.Type == bank.System || !a.CreatedAt.Before(end) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return issued, err
		}
		st, err := statements.Build(ctx, r.l, a.Number, month, r.opt.Location, r.l.Now())
		if err != nil {
			return issued, err
		}
		created, err := r.Statements.Save(ctx, st)
		if err != nil {
			return issued, err
		}
		if created {
			issued++
		}
		// Announced on every run: the event id is the business key, and a
		// delivery already made is not repeated.
		if err := r.Publisher.Publish(ctx, webhooks.StatementReady, a.Number+":"+month, []string{a.Owner}, st.Summary()); err != nil {
			return issued, err
		}
	}
	return issued, nil
}

// RunStandingOrders executes every order due on or before day.
func (r *Runner) RunStandingOrders(ctx context.Context, day ledger.Day) (int, error) {
	done := 0
	seen := map[string]bool{}
	for {
		ids, err := r.Standing.Due(ctx, day, 500)
		if err != nil {
			return done, err
		}
		progress := false
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id], progress = true, true
			res, err := r.Standing.Execute(ctx, id, day)
			if err != nil {
				return done, err
			}
			if len(res) == standing.MaxCatchUp {
				// Execute stops after MaxCatchUp dates, oldest first; the
				// next run (a minute later) continues from the next date.
				r.opt.Log.Warn("standing order catch-up backlog may remain", "order", id, "paid_up_to", res[len(res)-1].Run.Date)
				r.backlog(StandingOrders, 1)
			}
			for _, x := range res {
				done++
				if err := r.announceRun(ctx, x); err != nil {
					return done, err
				}
			}
		}
		if !progress {
			return done, nil
		}
	}
}

func (r *Runner) announceRun(ctx context.Context, x standing.Result) error {
	o := x.Order
	if x.Run.Status == "failed" {
		return r.Publisher.Publish(ctx, webhooks.StandingOrderFailed, o.ID+":"+x.Run.Date, []string{o.Owner},
			map[string]any{"standing_order_id": o.ID, "date": x.Run.Date, "code": x.Run.Code, "from": o.From,
				"to": o.To, "amount": o.Amount, "currency": o.Currency})
	}
	// An executed date's transfer.completed went to the outbox in the
	// posting's own script (PostOnce); the relay announces it.
	return nil
}

// PublishTransfer announces a completed transfer to both sides' owners.
func (r *Runner) PublishTransfer(ctx context.Context, t bank.Transfer) error {
	return r.Publisher.PublishTransfer(ctx, r.l, t)
}

// ExpireHolds voids every authorised hold past its expiry.
func (r *Runner) ExpireHolds(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := r.l.DueHolds(ctx, r.l.Now(), 500)
		if err != nil {
			return n, err
		}
		progress := false
		for _, id := range ids {
			ok, err := r.l.Expire(ctx, id)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progress = true
			}
		}
		if len(ids) < 500 || !progress {
			return n, nil
		}
	}
}

// Reconcile checks the ledger's invariants and stores the result for the
// admin API and the metrics.
func (r *Runner) Reconcile(ctx context.Context) (ledger.Report, error) {
	rep, err := r.l.Reconcile(ctx)
	if err != nil {
		return rep, err
	}
	if err := r.l.SaveReport(ctx, rep); err != nil {
		return rep, err
	}
	if !rep.Balanced() {
		r.opt.Log.Error("ledger does not balance", "sums", rep.Sums, "mismatches", len(rep.Mismatches), "held_mismatches", len(rep.HeldMismatches))
	} else {
		r.opt.Log.Info("ledger balances", "accounts", rep.Accounts, "entries", rep.Entries)
	}
	return rep, nil
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
