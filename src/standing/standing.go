// Package standing keeps customers' standing orders (recurring transfers)
// and executes the due ones. Each due date of an order is paid through
// ledger.PostOnce with the business key (order, date): it is paid at most
// once, or recorded as failed (e.g. insufficient funds) and never retried,
// however many workers run the minute job and whenever they crash.
package standing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// Frequencies.
const (
	Daily   = "daily"
	Weekly  = "weekly"
	Monthly = "monthly"
)

// Statuses.
const (
	Active    = "active"
	Cancelled = "cancelled"
	Completed = "completed"
)

// MaxCatchUp bounds how many missed dates of one order a run pays, so a
// long outage does not turn into an unbounded burst.
const MaxCatchUp = 62

// Order is a standing order: the request that created it and its state.
type Order struct {
	ID    string `json:"id"`
	Owner string `json:"owner"`
	Request
	Status      string     `json:"status"`
	NextDate    string     `json:"next_date,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	Runs        []Run      `json:"runs"`
}

// Run is the outcome of one due date.
type Run struct {
	Date       string `json:"date"`
	Status     string `json:"status"` // executed | failed
	TransferID string `json:"transfer_id,omitempty"`
	Code       string `json:"code,omitempty"` // why it failed
}

// Request creates an order.
type Request struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	Frequency   string `json:"frequency"`
	FirstDate   string `json:"first_date"`
	EndDate     string `json:"end_date,omitempty"`
	Count       int    `json:"count,omitempty"`
}

// Store keeps orders in Redis next to the ledger.
type Store struct {
	l   *ledger.Ledger
	loc *time.Location
}

// NewStore returns a store on the ledger's Redis; dates are days in loc.
func NewStore(l *ledger.Ledger, loc *time.Location) *Store { return &Store{l: l, loc: loc} }

const keyDue = "bank:standing-due" // zset order id → next due day ordinal

// createScript stores a new order and its idempotency record together.
// KEYS: 1 idempotency record (empty for none), 2 order, 3 owner index, 4 due index
// ARGV: 1 "hash:id", 2 ttl s, 3 created ms, 4 first due ordinal, 5.. order fields
var createScript = redis.NewScript(4, `
if KEYS[1] ~= '' then
  local prev = redis.call('GET', KEYS[1])
  if prev then return {'replay', prev} end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[3], ARGV[3], string.match(ARGV[1], ':(.*)$'))
redis.call('ZADD', KEYS[4], ARGV[4], string.match(ARGV[1], ':(.*)$'))
return {'ok', ARGV[1]}
`)

func orderKey(id string) string    { return "bank:standing:" + id }
func runsKey(id string) string     { return "bank:standing-runs:" + id }
func ownerKey(owner string) string { return "bank:standing-owner:" + owner }
func idemKey(owner, k string) string {
	return "bank:standing-idem:" + owner + ":" + k
}

func invalid(code, f string, a ...any) error { return bank.Errorf(bank.KindInvalid, code, f, a...) }

// ErrNotFound is returned for an order that does not exist or is not the caller's.
var ErrNotFound = &bank.Error{Kind: bank.KindNotFound, Code: "standing_order_not_found", Message: "standing order not found"}

// ErrNotActive is returned when cancelling an order that already ended.
var ErrNotActive = &bank.Error{Kind: bank.KindRejected, Code: "standing_order_not_active", Message: "the standing order is already cancelled or completed"}

func (s *Store) parseDate(field, v string) (ledger.Day, error) {
	d, err := ledger.ParseDay(v, s.loc)
	if err != nil {
		return ledger.Day{}, invalid("invalid_date", "%s must be a date YYYY-MM-DD", field)
	}
	return d, nil
}

// DueDate returns the n-th (0-based) due date of an order starting on
// first. Monthly orders keep the day of month of the first date, clamped
// to the month's last day (31 Jan, 28 Feb, 31 Mar, ...).
func DueDate(first time.Time, freq string, n int) time.Time {
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

func (r Request) hash() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s|%d", r.From, r.To, r.Amount, r.Currency, r.Description, r.Frequency, r.FirstDate, r.EndDate, r.Count)))
	return hex.EncodeToString(h[:])
}

// Create validates and stores a new order for owner, whose account From
// must be. today is the current day: the first date may not be earlier.
// idemKey, when set, makes creation idempotent: the same key and request
// return the same order (replayed true), a different request is a conflict.
func (s *Store) Create(ctx context.Context, owner string, r Request, today time.Time, idemKeyValue string) (Order, bool, error) {
	if err := bank.ValidateAmount(r.Amount); err != nil {
		return Order{}, false, err
	}
	if _, err := bank.LookupCurrency(r.Currency); err != nil {
		return Order{}, false, err
	}
	if len(r.Description) > ledger.MaxDescription {
		return Order{}, false, invalid("invalid_description", "description must be at most %d bytes", ledger.MaxDescription)
	}
	if r.Frequency != Daily && r.Frequency != Weekly && r.Frequency != Monthly {
		return Order{}, false, invalid("invalid_frequency", "frequency must be daily, weekly or monthly")
	}
	first, err := s.parseDate("first_date", r.FirstDate)
	if err != nil {
		return Order{}, false, err
	}
	if first.Ordinal < ledger.NewDay(today, s.loc).Ordinal {
		return Order{}, false, invalid("invalid_date", "first_date must be today or later")
	}
	if r.EndDate != "" {
		end, err := s.parseDate("end_date", r.EndDate)
		if err != nil {
			return Order{}, false, err
		}
		if end.Ordinal < first.Ordinal {
			return Order{}, false, invalid("invalid_date", "end_date must not be before first_date")
		}
	}
	if r.Count < 0 || r.Count > 10_000 {
		return Order{}, false, invalid("invalid_count", "count must be between 1 and 10000 when given")
	}
	for _, n := range []string{r.From, r.To} {
		if err := bank.ValidateAccountNumber(n); err != nil {
			return Order{}, false, err
		}
	}
	from, err := s.l.Account(ctx, r.From)
	if err != nil {
		return Order{}, false, err
	}
	if from.Owner != owner {
		return Order{}, false, bank.ErrAccountNotFound
	}
	to, err := s.l.Account(ctx, r.To)
	if err != nil {
		return Order{}, false, err
	}
	if r.From == r.To {
		return Order{}, false, bank.ErrSameAccount
	}
	if to.Type == bank.System || from.Type == bank.System {
		return Order{}, false, bank.ErrSystemAccount
	}
	if from.Currency != r.Currency || to.Currency != r.Currency {
		return Order{}, false, bank.ErrCurrencyMismatch
	}
	c, err := s.l.Pool().GetContext(ctx)
	if err != nil {
		return Order{}, false, err
	}
	defer c.Close()
	id := ledger.NewID("so")
	ik := ""
	if idemKeyValue != "" {
		ik = idemKey(owner, idemKeyValue)
	}
	now := s.l.Now()
	// One script claims the idempotency key and writes the order, so a
	// concurrent duplicate can never find a key without its order.
	reply, err := redis.Strings(createScript.DoContext(ctx, c, ik, orderKey(id), ownerKey(owner), keyDue,
		r.hash()+":"+id, int(ledger.DefaultIdempotencyTTL.Seconds()), now.UnixMilli(), first.Ordinal,
		"id", id, "owner", owner, "from", r.From, "to", r.To, "amount", r.Amount,
		"currency", r.Currency, "desc", r.Description, "freq", r.Frequency, "first", r.FirstDate,
		"end", r.EndDate, "count", r.Count, "status", Active, "n", 0, "next", r.FirstDate, "created", now.UnixMilli()))
	if err != nil {
		return Order{}, false, fmt.Errorf("standing: %w", err)
	}
	if reply[0] == "replay" {
		h, pid, _ := strings.Cut(reply[1], ":")
		if h != r.hash() {
			return Order{}, false, bank.ErrIdempotencyConflict
		}
		o, err := s.Get(ctx, owner, pid)
		return o, true, err
	}
	o, err := s.Get(ctx, owner, id)
	return o, false, err
}

func (s *Store) load(c redis.Conn, id string) (Order, int, error) {
	m, err := redis.StringMap(c.Do("HGETALL", orderKey(id)))
	if err != nil {
		return Order{}, 0, fmt.Errorf("standing: %w", err)
	}
	if len(m) == 0 {
		return Order{}, 0, ErrNotFound
	}
	atoi := func(k string) int64 { v, _ := strconv.ParseInt(m[k], 10, 64); return v }
	o := Order{ID: m["id"], Owner: m["owner"], Request: Request{From: m["from"], To: m["to"], Amount: atoi("amount"),
		Currency: m["currency"], Description: m["desc"], Frequency: m["freq"], FirstDate: m["first"],
		EndDate: m["end"], Count: int(atoi("count"))}, Status: m["status"], NextDate: m["next"],
		CreatedAt: time.UnixMilli(atoi("created")).UTC()}
	if ms := atoi("cancelled"); ms > 0 {
		t := time.UnixMilli(ms).UTC()
		o.CancelledAt = &t
	}
	if o.Status != Active {
		o.NextDate = ""
	}
	runs, err := redis.StringMap(c.Do("HGETALL", runsKey(id)))
	if err != nil {
		return Order{}, 0, fmt.Errorf("standing: %w", err)
	}
	o.Runs = make([]Run, 0, len(runs))
	for date, outcome := range runs {
		kind, detail, _ := strings.Cut(outcome, ":")
		r := Run{Date: date, Status: kind}
		if kind == "executed" {
			r.TransferID = detail
		} else {
			r.Code = detail
		}
		o.Runs = append(o.Runs, r)
	}
	sort.Slice(o.Runs, func(i, j int) bool { return o.Runs[i].Date < o.Runs[j].Date })
	return o, int(atoi("n")), nil
}

// Get returns an order of owner's (owner "" skips the check, for staff and jobs).
func (s *Store) Get(ctx context.Context, owner, id string) (Order, error) {
	c, err := s.l.Pool().GetContext(ctx)
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
	c, err := s.l.Pool().GetContext(ctx)
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

// cancelScript moves an order from active to cancelled and out of the due
// index, and does nothing to an order in any other status. It is one
// compare-and-set so that a cancel and an execution can interleave only
// at whole steps: once it has returned "ok", the payment script's own
// status check refuses every later date.
// KEYS: 1 order, 2 due index; ARGV: 1 now ms, 2 order id
// Returns "ok", "missing", or the status that was not active.
var cancelScript = redis.NewScript(2, `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
if st ~= 'active' then return st end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelled', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 'ok'
`)

// advanceScript records that due date n-1 was settled: n and the next
// date move forward only (a slower concurrent run must not rewind them),
// and only an active order goes back into the due index (a plain ZADD
// would re-add an order cancelled meanwhile, to be found every minute).
// KEYS: 1 order, 2 due index; ARGV: 1 n, 2 next date, 3 next ordinal, 4 id
// Returns 1 when the order is still active, 0 otherwise.
var advanceScript = redis.NewScript(2, `
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  return 0
end
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'n') or '0') then
  redis.call('HSET', KEYS[1], 'n', ARGV[1], 'next', ARGV[2])
end
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
return 1
`)

// completeScript ends an order that has no dates left, unless it already
// ended otherwise: a cancel that was acknowledged stays a cancel.
// KEYS: 1 order, 2 due index; ARGV: 1 order id
var completeScript = redis.NewScript(2, `
if redis.call('HGET', KEYS[1], 'status') == 'active' then
  redis.call('HSET', KEYS[1], 'status', 'completed', 'next', '')
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)

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
	c, err := s.l.Pool().GetContext(ctx)
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
func (s *Store) Due(ctx context.Context, day ledger.Day, limit int) ([]string, error) {
	c, err := s.l.Pool().GetContext(ctx)
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
func (s *Store) Execute(ctx context.Context, id string, day ledger.Day) ([]Result, error) {
	c, err := s.l.Pool().GetContext(ctx)
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
	first, err := time.ParseInLocation("2006-01-02", o.FirstDate, s.loc)
	if err != nil {
		return nil, fmt.Errorf("standing: order %s: bad first date %q", id, o.FirstDate)
	}
	var end ledger.Day
	if o.EndDate != "" {
		if end, err = ledger.ParseDay(o.EndDate, s.loc); err != nil {
			return nil, err
		}
	}
	var out []Result
	for i := 0; i < MaxCatchUp; i++ {
		due := ledger.NewDay(DueDate(first, o.Frequency, n), s.loc)
		finished := (o.Count > 0 && n >= o.Count) || (o.EndDate != "" && due.Ordinal > end.Ordinal)
		if finished {
			if testHook != nil {
				testHook("complete", id)
			}
			if _, err := completeScript.DoContext(ctx, c, orderKey(id), keyDue, id); err != nil {
				return out, fmt.Errorf("standing: %w", err)
			}
			break
		}
		if due.Ordinal > day.Ordinal {
			break
		}
		desc := o.Description
		if desc == "" {
			desc = "Standing order " + o.ID
		}
		if testHook != nil {
			testHook("pay", id)
		}
		// The status loaded above may be stale by now: the script checks
		// that the order is still active atomically with the payment.
		oc, err := s.l.PostOnceIf(ctx, ledger.Posting{From: o.From, To: o.To, Amount: o.Amount, Currency: o.Currency,
			Kind: bank.KindStanding, Description: desc, InitiatedBy: o.Owner, Touch: ledger.TouchFrom,
			ID: o.ID + "_" + due.Date}, runsKey(id), due.Date, ledger.Guard{Key: orderKey(id), Field: "status", Value: Active})
		if err != nil {
			return out, err
		}
		if oc.Guarded {
			break // cancelled (or completed by a concurrent run) meanwhile
		}
		run := Run{Date: due.Date, Status: "executed", TransferID: oc.TransferID}
		if !oc.Executed {
			run = Run{Date: due.Date, Status: "failed", Code: oc.Code}
		}
		out = append(out, Result{Order: o, Run: run})
		n++
		next := ledger.NewDay(DueDate(first, o.Frequency, n), s.loc)
		active, err := redis.Bool(advanceScript.DoContext(ctx, c, orderKey(id), keyDue, n, next.Date, next.Ordinal, id))
		if err != nil {
			return out, fmt.Errorf("standing: %w", err)
		}
		if !active {
			break // a cancel between two dates stops the order
		}
	}
	return out, nil
}
