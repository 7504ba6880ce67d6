// Package loadgen drives running APIs with a mix of concurrent customer
// requests (transfers, holds with capture or void, balance and history
// reads) and reports what it measured per operation: throughput, latency
// percentiles and outcomes by status and problem code. It only uses the
// public HTTP API, so it measures what a client sees, and it records every
// acknowledged transfer so that fault tests can check none was lost or
// applied twice.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
)

// Config for a run.
type Config struct {
	APIURL         string   // the API, when APIURLs is empty
	APIURLs        []string // several API replicas: requests go round-robin
	TellerUser     string   // a teller login used to fund the accounts
	TellerPassword string
	Customers      int // distinct customers, each with one account
	Concurrency    int // parallel clients
	Duration       time.Duration
	Requests       int   // stop after this many operations (0: run for Duration)
	Funding        int64 // minor units deposited into each account
	Currency       string
	Mix            Mix       // the operations and their weights; nil: transfers only
	Progress       io.Writer // a progress line every second, when set
	Client         *http.Client
	// Stop, when closed, ends the run like Duration does: no new
	// requests, the ones in flight finish (a fault test's script decides
	// when it has seen enough).
	Stop <-chan struct{}
}

func (c Config) urls() []string {
	if len(c.APIURLs) > 0 {
		return c.APIURLs
	}
	return []string{c.APIURL}
}

// Result of a run.
type Result struct {
	Transfers   int            // acknowledged (201) transfers
	Outcomes    map[string]int // transfers by status code or problem code
	Elapsed     time.Duration
	P50, P99    time.Duration // of the transfers
	Max         time.Duration
	Ops         map[string]*OpStats // every operation, by name (OpTransfer, ...)
	Concurrency int
	APIURLs     []string
	Mix         Mix
	Accounts    []string          // account numbers used
	Acked       map[string]string // transfer id → idempotency key
	Unanswered  []Attempt         // requests without a definite answer (no response, or 5xx): outcome unknown
	// UnansweredHolds are hold authorisations without a definite answer:
	// retried with the same key, each is authorised exactly once or not.
	UnansweredHolds []HoldAttempt
	AckedAt         map[string]time.Time // transfer id → when its acknowledgement arrived (the unavailability window of a fault)
	SlowestErr      time.Duration        // the longest wait for a transfer's answer that was not 2xx
}

// Attempt is one transfer request whose answer was lost; retrying it with
// the same Idempotency-Key tells whether it was applied.
type Attempt struct {
	Customer int
	Key      string
	Request  apiclient.TransferRequest
}

// HoldAttempt is one hold authorisation whose answer was lost.
type HoldAttempt struct {
	Customer int
	Key      string
	Request  apiclient.HoldRequest
}

// Customers are the set-up load customers: Tokens[i] is logged in as the
// owner of Accounts[i].
type Customers struct {
	API      *apiclient.Client
	Tokens   []string
	Accounts []string
}

// Rate is acknowledged transfers per second.
func (r Result) Rate() float64 { return float64(r.Transfers) / r.Elapsed.Seconds() }

func (r Result) String() string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.Outcomes)) {
		out = append(out, fmt.Sprintf("%s=%d", k, r.Outcomes[k]))
	}
	return fmt.Sprintf("transfers: %d in %s = %.0f/s; latency p50 %s p99 %s max %s; outcomes: %s",
		r.Transfers, r.Elapsed.Round(time.Millisecond), r.Rate(), r.P50, r.P99, r.Max, strings.Join(out, " "))
}

// Setup registers customers, opens one account each and funds it through
// the teller.
func Setup(ctx context.Context, cfg Config) (Customers, error) {
	api := apiclient.New(cfg.urls()[0], cfg.Client)
	teller, err := api.Login(ctx, cfg.TellerUser, cfg.TellerPassword)
	if err != nil {
		return Customers{}, fmt.Errorf("login %s: %w", cfg.TellerUser, err)
	}
	run := fmt.Sprintf("%x", rand.Uint32())
	cs := Customers{API: api, Tokens: make([]string, cfg.Customers), Accounts: make([]string, cfg.Customers)}
	for i := range cs.Tokens {
		user, pw := fmt.Sprintf("load-%s-%d", run, i), "load-password-"+run
		if _, err := api.Register(ctx, user, pw); err != nil {
			return Customers{}, fmt.Errorf("register: %w", err)
		}
		login, err := api.Login(ctx, user, pw)
		if err != nil {
			return Customers{}, fmt.Errorf("login %s: %w", user, err)
		}
		cs.Tokens[i] = login.Token
		acct, err := api.OpenAccount(ctx, login.Token, apiclient.OpenAccount{Type: "checking", Currency: cfg.Currency})
		if err != nil {
			return Customers{}, fmt.Errorf("open account: %w", err)
		}
		cs.Accounts[i] = acct.Number
		if _, err := api.Deposit(ctx, teller.Token, "fund-"+run+"-"+acct.Number,
			apiclient.CashRequest{Account: acct.Number, Amount: cfg.Funding, Currency: cfg.Currency}); err != nil {
			return Customers{}, fmt.Errorf("deposit: %w", err)
		}
	}
	return cs, nil
}

// Run sets up accounts and drives the mix between them.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second, Transport: NewTransport()}
	}
	cs, err := Setup(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	return Drive(ctx, cfg, cs), nil
}

// Drive sends the mix from random customers to random other accounts.
func Drive(ctx context.Context, cfg Config, cs Customers) Result {
	if cfg.Mix == nil {
		cfg.Mix = Mix{OpTransfer: 1}
	}
	d := &driver{cfg: cfg, cs: cs, start: time.Now(), deadline: time.Now().Add(cfg.Duration),
		res: Result{Outcomes: map[string]int{}, Accounts: cs.Accounts, Acked: map[string]string{}, AckedAt: map[string]time.Time{}, Ops: map[string]*OpStats{},
			Concurrency: cfg.Concurrency, APIURLs: cfg.urls(), Mix: cfg.Mix}}
	for _, u := range cfg.urls() {
		d.apis = append(d.apis, apiclient.New(u, cfg.Client))
	}
	stop := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.Progress != nil {
		progress.Go(func() { d.report(stop) })
	}
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(d.start.UnixNano())))
			for i := 0; d.next(ctx); i++ {
				d.one(ctx, r, fmt.Sprintf("load-%d-%d-%d", d.start.UnixNano(), w, i))
			}
		})
	}
	wg.Wait()
	close(stop)
	progress.Wait()
	return d.result()
}

// driver is one Drive's shared state: how many operations were sent, and
// their outcomes and latencies.
type driver struct {
	cfg             Config
	cs              Customers
	apis            []*apiclient.Client
	rr              atomic.Uint64
	start, deadline time.Time
	requests        atomic.Int64
	failures        atomic.Int64

	sent atomic.Int64

	mu  sync.Mutex
	res Result
}

// api is the next API replica, round-robin.
func (d *driver) api() *apiclient.Client { return d.apis[d.rr.Add(1)%uint64(len(d.apis))] }

// next reports whether another operation is due: until the request count
// or the duration is reached, or ctx ends. It takes no lock: 32 workers
// asking it thousands of times a second would queue on one.
func (d *driver) next(ctx context.Context) bool {
	if ctx.Err() != nil || (d.cfg.Requests == 0 && time.Now().After(d.deadline)) {
		return false
	}
	select {
	case <-d.cfg.Stop:
		return false
	default:
	}
	return d.cfg.Requests == 0 || d.sent.Add(1) <= int64(d.cfg.Requests)
}

// report writes the progress line every second until stop.
func (d *driver) report(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	line := func() {
		el := time.Since(d.start).Seconds()
		n := d.requests.Load()
		fmt.Fprintf(d.cfg.Progress, "\r%6.1fs %9d requests %8.0f/s %6d errors", el, n, float64(n)/el, d.failures.Load())
	}
	for {
		select {
		case <-stop:
			line()
			fmt.Fprintln(d.cfg.Progress)
			return
		case <-t.C:
			line()
		}
	}
}

// one runs one operation of the mix.
func (d *driver) one(ctx context.Context, r *rand.Rand, key string) {
	accounts := d.cs.Accounts
	from := r.IntN(len(d.cs.Tokens))
	to := (from + 1 + r.IntN(len(accounts)-1)) % len(accounts)
	tok, api := d.cs.Tokens[from], d.api()
	switch d.cfg.Mix.pick(r) {
	case OpTransfer:
		d.transfer(ctx, api, from, to, key, r)
	case OpHold:
		t0 := time.Now()
		req := apiclient.HoldRequest{Account: accounts[from], Payee: accounts[to],
			Amount: int64(1 + r.IntN(500)), Currency: d.cfg.Currency, Description: "load"}
		h, err := api.AuthorizeHold(ctx, tok, key, req)
		if d.record(OpHold, t0, err) != "" {
			if p, answered := apiclient.AsProblem(err); !answered || p.Status >= 500 {
				d.mu.Lock()
				d.res.UnansweredHolds = append(d.res.UnansweredHolds, HoldAttempt{Customer: from, Key: key, Request: req})
				d.mu.Unlock()
			}
			return
		}
		t0 = time.Now()
		if r.IntN(2) == 0 {
			_, err = api.CaptureHold(ctx, tok, key+"-capture", h.ID, 0)
			d.record(OpCapture, t0, err)
		} else {
			_, err = api.VoidHold(ctx, tok, key+"-void", h.ID)
			d.record(OpVoid, t0, err)
		}
	case OpBalance:
		t0 := time.Now()
		_, err := api.Account(ctx, tok, accounts[from])
		d.record(OpBalance, t0, err)
	case OpHistory:
		t0 := time.Now()
		_, err := api.Entries(ctx, tok, accounts[from], apiclient.EntryQuery{Limit: 20})
		d.record(OpHistory, t0, err)
	}
}

// outcomeOf names a request's outcome: "" for an answer, else the status
// and problem code, or no_answer.
func outcomeOf(err error) string {
	if err == nil {
		return ""
	}
	p, answered := apiclient.AsProblem(err)
	if !answered {
		return "no_answer"
	}
	return fmt.Sprintf("%d:%s", p.Status, p.Code)
}

// record adds one request's latency and outcome to op's stats and
// returns the outcome.
func (d *driver) record(op string, t0 time.Time, err error) string {
	lat := time.Since(t0)
	out := outcomeOf(err)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recordLocked(op, lat, out)
	return out
}

// recordLocked is record with d.mu held.
func (d *driver) recordLocked(op string, lat time.Duration, out string) {
	d.requests.Add(1)
	if out != "" {
		d.failures.Add(1)
	}
	s := d.res.Ops[op]
	if s == nil {
		s = &OpStats{}
		d.res.Ops[op] = s
	}
	s.add(lat, out)
}

// transfer makes one transfer under key and records its outcome.
func (d *driver) transfer(ctx context.Context, api *apiclient.Client, from, to int, key string, r *rand.Rand) {
	accounts := d.cs.Accounts
	req := apiclient.TransferRequest{From: accounts[from], To: accounts[to],
		Amount: int64(1 + r.IntN(500)), Currency: d.cfg.Currency, Description: "load"}
	t0 := time.Now()
	tr, err := api.Transfer(ctx, d.cs.Tokens[from], key, req)
	lat := time.Since(t0)
	out := outcomeOf(err)
	p, answered := apiclient.AsProblem(err)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recordLocked(OpTransfer, lat, out)
	if err != nil {
		d.res.SlowestErr = max(d.res.SlowestErr, lat)
	}
	switch {
	case err == nil:
		d.res.Transfers++
		d.res.Acked[tr.ID] = key
		d.res.AckedAt[tr.ID] = time.Now()
	case !answered:
		d.res.Outcomes["no_answer"]++
		d.res.Unanswered = append(d.res.Unanswered, Attempt{Customer: from, Key: key, Request: req})
	case p.Status >= 500:
		// The server answered but cannot know whether the posting landed
		// (e.g. Redis died mid-reply): the outcome is unknown until
		// retried with the same key.
		d.res.Outcomes[fmt.Sprint(p.Status)]++
		if p.Status == http.StatusServiceUnavailable && p.RetryAfter == "" {
			d.res.Outcomes["503_without_retry_after"]++ // a 503 must say when to come back
		}
		d.res.Unanswered = append(d.res.Unanswered, Attempt{Customer: from, Key: key, Request: req})
	default:
		d.res.Outcomes[fmt.Sprintf("%d:%s", p.Status, p.Code)]++
	}
}

// result summarises the run once every worker has stopped.
func (d *driver) result() Result {
	res := d.res
	res.Elapsed = time.Since(d.start)
	res.Outcomes["201"] = res.Transfers
	for _, s := range res.Ops {
		s.finish()
	}
	if s := res.Ops[OpTransfer]; s != nil {
		res.P50, res.P99, res.Max = s.P50, s.P99, s.Max
	}
	return res
}
