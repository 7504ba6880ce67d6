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
	createScript   = luascript.Load(scripts, 5, "create")
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
	// Standing orders keep their keys apart from the money-moving routes'
	// (scope "standing:<user>"), as they always have: one key may serve a
	// transfer and an order.
	reply, err := redis.Strings(createScript.DoContext(ctx, c,
		keyspace.IdempotencyRecord("standing:"+idem.Scope, idem.Key), orderKey(id), ownerKey(owner), keyDue,
		legacyIdemKey(owner, idem.Key),
		idem.Hash, int(s.l.IdempotencyTTL.Seconds()), now, first.Ordinal, id, r.legacyHash(),
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
