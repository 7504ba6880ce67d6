// Package standing keeps customers' standing orders (recurring transfers)
// and executes the due ones. Each due date of an order is paid through
// ledger.PostOnce with the business key (order, date): it is paid at most
// once, or recorded as failed (e.g. insufficient funds) and never retried,
// however many workers run the minute job and whenever they crash.
package standing

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/redishash"
)

// Frequency is how often an order pays.
type Frequency string

// Frequencies.
const (
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
	Monthly Frequency = "monthly"
)

// Status is where an order is in its life.
type Status string

// Statuses.
const (
	Active    Status = "active"
	Cancelled Status = "cancelled"
	Completed Status = "completed"
)

// RunStatus is the outcome of one due date.
type RunStatus string

// Outcomes of a due date.
const (
	Executed RunStatus = "executed"
	Failed   RunStatus = "failed"
)

// MaxCatchUp bounds how many missed dates of one order a run pays, so a
// long outage does not turn into an unbounded burst.
const MaxCatchUp = 62

// Order is a standing order: the request that created it and its state.
type Order struct {
	ID    string `json:"id"`
	Owner string `json:"owner"`
	Request
	Status      Status     `json:"status"`
	NextDate    string     `json:"next_date,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	Runs        []Run      `json:"runs"`
}

// Run is the outcome of one due date.
type Run struct {
	Date       string    `json:"date"`
	Status     RunStatus `json:"status"`
	TransferID string    `json:"transfer_id,omitempty"`
	Code       string    `json:"code,omitempty"` // why it failed
}

// Request creates an order.
type Request struct {
	From        string    `json:"from"`
	To          string    `json:"to"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	Description string    `json:"description"`
	Frequency   Frequency `json:"frequency"`
	FirstDate   string    `json:"first_date"`
	EndDate     string    `json:"end_date,omitempty"`
	Count       int       `json:"count,omitempty"`
}

// Store keeps orders in Redis next to the ledger.
type Store struct {
	pool *redis.Pool
	l    *ledger.Ledger
	loc  *time.Location
}

// NewStore returns a store of orders on pool, paid through l; dates are
// days in loc.
func NewStore(pool *redis.Pool, l *ledger.Ledger, loc *time.Location) *Store {
	return &Store{pool: pool, l: l, loc: loc}
}

//go:embed scripts/*.lua
var embedded embed.FS

var scripts, _ = fs.Sub(embedded, "scripts")

var (
	createScript   = luascript.Load(scripts, 4, "create")
	cancelScript   = luascript.Load(scripts, 2, "cancel")
	advanceScript  = luascript.Load(scripts, 2, "advance")
	completeScript = luascript.Load(scripts, 2, "complete")
)

const keyDue = keyspace.StandingDue

func orderKey(id string) string    { return keyspace.StandingOrder + id }
func runsKey(id string) string     { return keyspace.StandingRuns + id }
func ownerKey(owner string) string { return keyspace.StandingOwner + owner }

func invalid(code, f string, a ...any) error { return bank.Errorf(bank.KindInvalid, code, f, a...) }

// ErrNotFound is returned for an order that does not exist or is not the caller's.
var ErrNotFound = &bank.Error{Kind: bank.KindNotFound, Code: "standing_order_not_found", Message: "standing order not found"}

// ErrNotActive is returned when cancelling an order that already ended.
var ErrNotActive = &bank.Error{Kind: bank.KindRejected, Code: "standing_order_not_active", Message: "the standing order is already cancelled or completed"}

func (s *Store) parseDate(field, v string) (bank.Day, error) {
	d, err := bank.ParseDay(v, s.loc)
	if err != nil {
		return bank.Day{}, invalid("invalid_date", "%s must be a date YYYY-MM-DD", field)
	}
	return d, nil
}

// DueDate returns the n-th (0-based) due date of an order starting on
// first. Monthly orders keep the day of month of the first date, clamped
// to the month's last day (31 Jan, 28 Feb, 31 Mar, ...).
func DueDate(first time.Time, freq Frequency, n int) time.Time {
	switch freq {
	case Daily:
		return first.AddDate(0, 0, n)
	case Weekly:
		return first.AddDate(0, 0, 7*n)
	}
	y, m, d := first.Date()
	t := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, first.Location())
	last := t.AddDate(0, 1, -1).Day()
	return time.Date(t.Year(), t.Month(), min(d, last), 0, 0, 0, 0, first.Location())
}

// Create validates and stores a new order for owner, whose account From
// must be. today is the current day: the first date may not be earlier.
// idem makes creation idempotent the way every money-moving request is
// (the ledger's record, the caller's request fingerprint): the same key
// and request return the same order (replayed true), a different request
// is a conflict. A zero idem creates without a key.
func (s *Store) Create(ctx context.Context, owner string, r Request, today time.Time, idem ledger.Idem) (Order, bool, error) {
	first, err := s.validate(r, today)
	if err != nil {
		return Order{}, false, err
	}
	if err := s.checkAccounts(ctx, owner, r); err != nil {
		return Order{}, false, err
	}
	id, replayed, err := s.store(ctx, owner, r, first, idem)
	if err != nil {
		return Order{}, false, err
	}
	o, err := s.Get(ctx, owner, id)
	return o, replayed, err
}

// validate checks the request's own fields and returns its first due day.
// Amount, currency and description follow the ledger's posting rules.
func (s *Store) validate(r Request, today time.Time) (bank.Day, error) {
	if err := ledger.ValidatePosting(ledger.Posting{Amount: r.Amount, Currency: r.Currency, Description: r.Description}); err != nil {
		return bank.Day{}, err
	}
	if r.Frequency != Daily && r.Frequency != Weekly && r.Frequency != Monthly {
		return bank.Day{}, invalid("invalid_frequency", "frequency must be daily, weekly or monthly")
	}
	first, err := s.validateDates(r, today)
	if err != nil {
		return bank.Day{}, err
	}
	if r.Count < 0 || r.Count > 10_000 {
		return bank.Day{}, invalid("invalid_count", "count must be between 1 and 10000 when given")
	}
	for _, n := range []string{r.From, r.To} {
		if err := bank.ValidateAccountNumber(n); err != nil {
			return bank.Day{}, err
		}
	}
	return first, nil
}

// validateDates checks that the first date is today or later and the end
// date, when given, not before it.
func (s *Store) validateDates(r Request, today time.Time) (bank.Day, error) {
	first, err := s.parseDate("first_date", r.FirstDate)
	if err != nil {
		return bank.Day{}, err
	}
	if first.Ordinal < bank.NewDay(today, s.loc).Ordinal {
		return bank.Day{}, invalid("invalid_date", "first_date must be today or later")
	}
	if r.EndDate == "" {
		return first, nil
	}
	end, err := s.parseDate("end_date", r.EndDate)
	if err != nil {
		return bank.Day{}, err
	}
	if end.Ordinal < first.Ordinal {
		return bank.Day{}, invalid("invalid_date", "end_date must not be before first_date")
	}
	return first, nil
}

// checkAccounts refuses, at creation, an order the payment script would
// refuse on every due date: another customer's account, a missing or
// system account, two equal accounts, another currency. The script checks
// the accounts again when it pays (their state may change meanwhile).
func (s *Store) checkAccounts(ctx context.Context, owner string, r Request) error {
	from, err := s.l.Account(ctx, r.From)
	if err != nil {
		return err
	}
	if from.Owner != owner {
		return bank.ErrAccountNotFound
	}
	to, err := s.l.Account(ctx, r.To)
	if err != nil {
		return err
	}
	switch {
	case r.From == r.To:
		return bank.ErrSameAccount
	case to.Type == bank.System || from.Type == bank.System:
		return bank.ErrSystemAccount
	case from.Currency != r.Currency || to.Currency != r.Currency:
		return bank.ErrCurrencyMismatch
	}
	return nil
}

// store writes the order and its idempotency record in one script and
// returns the order's id: a new one, or the first request's on a replay.
func (s *Store) store(ctx context.Context, owner string, r Request, first bank.Day, idem ledger.Idem) (string, bool, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return "", false, fmt.Errorf("standing: %w", err)
	}
	defer c.Close()
	id := ledger.NewID("so")
	now := s.l.Now().UnixMilli()
	reply, err := redis.Strings(createScript.DoContext(ctx, c,
		keyspace.IdempotencyRecord(idem.Scope, idem.Key), orderKey(id), ownerKey(owner), keyDue,
		idem.Hash, int(s.l.IdempotencyTTL.Seconds()), now, first.Ordinal, id,
		"id", id, "owner", owner, "from", r.From, "to", r.To, "amount", r.Amount,
		"currency", r.Currency, "desc", r.Description, "freq", r.Frequency, "first", r.FirstDate,
		"end", r.EndDate, "count", r.Count, "status", Active, "n", 0, "next", r.FirstDate, "created", now))
	if err != nil {
		return "", false, luascript.Error("standing", err)
	}
	return reply[1], reply[0] == "replay", nil
}

func (s *Store) load(c redis.Conn, id string) (Order, int, error) {
	m, err := redis.StringMap(c.Do("HGETALL", orderKey(id)))
	if err != nil {
		return Order{}, 0, fmt.Errorf("standing: %w", err)
	}
	if len(m) == 0 {
		return Order{}, 0, ErrNotFound
	}
	f := redishash.New(orderKey(id), m)
	o := Order{ID: f.Str("id"), Owner: f.Str("owner"), Request: Request{From: f.Str("from"), To: f.Str("to"),
		Amount: f.Int("amount"), Currency: f.Str("currency"), Description: f.Str("desc"), Frequency: Frequency(f.Str("freq")),
		FirstDate: f.Str("first"), EndDate: f.Str("end"), Count: int(f.Int("count"))},
		Status: Status(f.Str("status")), NextDate: f.Str("next"), CreatedAt: time.UnixMilli(f.Int("created")).UTC()}
	if t := f.Millis("cancelled"); !t.IsZero() {
		o.CancelledAt = &t
	}
	n := int(f.Int("n"))
	if err := f.Err(); err != nil {
		return Order{}, 0, fmt.Errorf("standing: %w", err)
	}
	if o.Status != Active {
		o.NextDate = ""
	}
	if o.Runs, err = loadRuns(c, id); err != nil {
		return Order{}, 0, err
	}
	return o, n, nil
}

// loadRuns returns an order's outcomes by due date, oldest first.
func loadRuns(c redis.Conn, id string) ([]Run, error) {
	runs, err := redis.StringMap(c.Do("HGETALL", runsKey(id)))
	if err != nil {
		return nil, fmt.Errorf("standing: %w", err)
	}
	out := make([]Run, 0, len(runs))
	for date, outcome := range runs {
		kind, detail, _ := strings.Cut(outcome, ":")
		r := Run{Date: date, Status: RunStatus(kind)}
		if r.Status == Executed {
			r.TransferID = detail
		} else {
			r.Code = detail
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out, nil
}

// Get returns an order of owner's (owner "" skips the check, for staff and jobs).
func (s *Store) Get(ctx context.Context, owner, id string) (Order, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return Order{}, err
	}
	defer c.Close()
	o, _, err := s.load(c, id)
	if err != nil {
		return Order{}, err
	}
	if owner != "" && o.Owner != owner {
		return Order{}, ErrNotFound
	}
	return o, nil
}

// List returns owner's orders, newest first.
func (s *Store) List(ctx context.Context, owner string) ([]Order, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ids, err := redis.Strings(c.Do("ZREVRANGE", ownerKey(owner), 0, 999))
	if err != nil {
		return nil, fmt.Errorf("standing: %w", err)
	}
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		o, _, err := s.load(c, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// testHook, when set by a test, runs before each write of Execute
// ("pay" before a date's payment, "complete" before ending the order),
// so that tests can put a cancel exactly where a real one could land.
var testHook func(stage, id string)

// Cancel stops an active order; dates already paid or failed stay recorded.
// Once Cancel returns without error no further date is paid.
func (s *Store) Cancel(ctx context.Context, owner, id string) (Order, error) {
	if _, err := s.Get(ctx, owner, id); err != nil {
		return Order{}, err
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return Order{}, err
	}
	res, err := redis.String(cancelScript.DoContext(ctx, c, orderKey(id), keyDue, s.l.Now().UnixMilli(), id))
	c.Close()
	if err != nil {
		return Order{}, fmt.Errorf("standing: %w", err)
	}
	switch res {
	case "ok":
	case "missing":
		return Order{}, ErrNotFound
	default:
		return Order{}, ErrNotActive
	}
	return s.Get(ctx, owner, id)
}

// Due lists ids of active orders with a due date on or before day.
func (s *Store) Due(ctx context.Context, day bank.Day, limit int) ([]string, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ids, err := redis.Strings(c.Do("ZRANGE", keyDue, "-inf", day.Ordinal, "BYSCORE", "LIMIT", 0, limit))
	if err != nil {
		return nil, fmt.Errorf("standing: %w", err)
	}
	return ids, nil
}

// Result is one executed or failed due date.
type Result struct {
	Order Order
	Run   Run
}

// Execute pays every due date of order id up to and including day, in
// date order, and advances the order. Each date goes through PostOnce, so
// running Execute twice or concurrently pays each date once.
func (s *Store) Execute(ctx context.Context, id string, day bank.Day) ([]Result, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	o, n, err := s.load(c, id)
	if err != nil {
		return nil, err
	}
	if o.Status != Active {
		// A cancel racing a run may have left the order in the due index.
		_, err := c.Do("ZREM", keyDue, id)
		return nil, err
	}
	sc, err := s.scheduleOf(o)
	if err != nil {
		return nil, err
	}
	var out []Result
	for i := 0; i < MaxCatchUp; i++ {
		if sc.finished(n) {
			return out, s.complete(ctx, c, id)
		}
		due := sc.due(n)
		if due.Ordinal > day.Ordinal {
			break
		}
		run, settled, err := s.pay(ctx, o, due)
		if err != nil || !settled {
			return out, err
		}
		out = append(out, Result{Order: o, Run: run})
		n++
		if active, err := s.advance(ctx, c, id, n, sc.due(n)); err != nil || !active {
			return out, err // !active: a cancel between two dates stops the order
		}
	}
	return out, nil
}

// schedule is an order's dates, parsed once per run.
type schedule struct {
	first  time.Time
	end    bank.Day
	hasEnd bool
	freq   Frequency
	count  int
	loc    *time.Location
}

func (s *Store) scheduleOf(o Order) (schedule, error) {
	first, err := time.ParseInLocation("2006-01-02", o.FirstDate, s.loc)
	if err != nil {
		return schedule{}, fmt.Errorf("standing: order %s: bad first date %q", o.ID, o.FirstDate)
	}
	sc := schedule{first: first, freq: o.Frequency, count: o.Count, loc: s.loc, hasEnd: o.EndDate != ""}
	if sc.hasEnd {
		if sc.end, err = bank.ParseDay(o.EndDate, s.loc); err != nil {
			return schedule{}, err
		}
	}
	return sc, nil
}

// due is the n-th (0-based) due day.
func (sc schedule) due(n int) bank.Day { return bank.NewDay(DueDate(sc.first, sc.freq, n), sc.loc) }

// finished reports whether an order that has settled n dates has none left.
func (sc schedule) finished(n int) bool {
	return (sc.count > 0 && n >= sc.count) || (sc.hasEnd && sc.due(n).Ordinal > sc.end.Ordinal)
}

// complete ends an order with no dates left.
func (s *Store) complete(ctx context.Context, c redis.Conn, id string) error {
	if testHook != nil {
		testHook("complete", id)
	}
	if _, err := completeScript.DoContext(ctx, c, orderKey(id), keyDue, id); err != nil {
		return fmt.Errorf("standing: %w", err)
	}
	return nil
}

// pay settles one due date: paid, or failed with the refusal's code. settled
// is false when the order was cancelled (or completed by a concurrent
// run) meanwhile, and nothing was posted or recorded.
func (s *Store) pay(ctx context.Context, o Order, due bank.Day) (_ Run, settled bool, _ error) {
	desc := o.Description
	if desc == "" {
		desc = "Standing order " + o.ID
	}
	if testHook != nil {
		testHook("pay", o.ID)
	}
	// The status loaded above may be stale by now: the script checks
	// that the order is still active atomically with the payment.
	oc, err := s.l.PostOnceIf(ctx, ledger.Posting{From: o.From, To: o.To, Amount: o.Amount, Currency: o.Currency,
		Kind: bank.PostingStandingOrder, Description: desc, InitiatedBy: o.Owner, Touch: ledger.TouchFrom,
		ID: o.ID + "_" + due.Date}, runsKey(o.ID), due.Date, ledger.Guard{Key: orderKey(o.ID), Field: "status", Value: string(Active)})
	if err != nil || oc.Guarded {
		return Run{}, false, err
	}
	if !oc.Executed {
		return Run{Date: due.Date, Status: Failed, Code: oc.Code}, true, nil
	}
	return Run{Date: due.Date, Status: Executed, TransferID: oc.TransferID}, true, nil
}

// advance records that n dates are settled and next is the next due day;
// it reports whether the order is still active.
func (s *Store) advance(ctx context.Context, c redis.Conn, id string, n int, next bank.Day) (bool, error) {
	active, err := redis.Bool(advanceScript.DoContext(ctx, c, orderKey(id), keyDue, n, next.Date, next.Ordinal, id))
	if err != nil {
		return false, fmt.Errorf("standing: %w", err)
	}
	return active, nil
}
