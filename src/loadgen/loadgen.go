// Package loadgen drives a running API with concurrent customer transfers
// and prints what it measured: throughput, latency percentiles and
// outcomes. It only uses the public HTTP API, so it measures what a client
// sees, and it records every acknowledged transfer so that fault tests can
// check none was lost or applied twice.
package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
)

// Config for a run.
type Config struct {
	APIURL         string
	TellerUser     string // a teller login used to fund the accounts
	TellerPassword string
	Customers      int // distinct customers, each with one account
	Concurrency    int // parallel clients
	Duration       time.Duration
	Requests       int   // stop after this many transfers (0: run for Duration)
	Funding        int64 // minor units deposited into each account
	Currency       string
	Client         *http.Client
	// Stop, when closed, ends the run like Duration does: no new
	// requests, the ones in flight finish (a fault test's script decides
	// when it has seen enough).
	Stop <-chan struct{}
}

// Result of a run.
type Result struct {
	Transfers  int            // acknowledged (201) transfers
	Outcomes   map[string]int // by status code or problem code
	Elapsed    time.Duration
	P50, P99   time.Duration
	Max        time.Duration
	Accounts   []string             // account numbers used
	Acked      map[string]string    // transfer id → idempotency key
	Unanswered []Attempt            // requests without a definite answer (no response, or 5xx): outcome unknown
	AckedAt    map[string]time.Time // transfer id → when its acknowledgement arrived (the unavailability window of a fault)
	SlowestErr time.Duration        // the longest wait for an answer that was not 2xx
}

// Attempt is one transfer request whose answer was lost; retrying it with
// the same Idempotency-Key tells whether it was applied.
type Attempt struct {
	Customer int
	Key      string
	Request  apiclient.TransferRequest
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
	keys := make([]string, 0, len(r.Outcomes))
	for k := range r.Outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s=%d", k, r.Outcomes[k]))
	}
	return fmt.Sprintf("transfers: %d in %s = %.0f/s; latency p50 %s p99 %s max %s; outcomes: %s",
		r.Transfers, r.Elapsed.Round(time.Millisecond), r.Rate(), r.P50, r.P99, r.Max, strings.Join(out, " "))
}

// Setup registers customers, opens one account each and funds it through
// the teller.
func Setup(ctx context.Context, cfg Config) (Customers, error) {
	api := apiclient.New(cfg.APIURL, cfg.Client)
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

// Run sets up accounts and drives transfers between them.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency}}
	}
	cs, err := Setup(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	return Drive(ctx, cfg, cs), nil
}

// Drive sends transfers from random customers to random other accounts.
func Drive(ctx context.Context, cfg Config, cs Customers) Result {
	d := &driver{cfg: cfg, cs: cs, start: time.Now(), deadline: time.Now().Add(cfg.Duration),
		res: Result{Outcomes: map[string]int{}, Accounts: cs.Accounts, Acked: map[string]string{}, AckedAt: map[string]time.Time{}}}
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(d.start.UnixNano())))
			for i := 0; d.next(ctx); i++ {
				d.send(ctx, r, fmt.Sprintf("load-%d-%d-%d", d.start.UnixNano(), w, i))
			}
		}(w)
	}
	wg.Wait()
	return d.result()
}

// driver is one Drive's shared state: how many transfers were sent, and
// their outcomes and latencies.
type driver struct {
	cfg             Config
	cs              Customers
	start, deadline time.Time

	mu        sync.Mutex
	sent      int
	latencies []time.Duration
	res       Result
}

// next reports whether another transfer is due: until the request count
// or the duration is reached, or ctx ends.
func (d *driver) next(ctx context.Context) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil || (d.cfg.Requests > 0 && d.sent >= d.cfg.Requests) || (d.cfg.Requests == 0 && time.Now().After(d.deadline)) {
		return false
	}
	select {
	case <-d.cfg.Stop:
		return false
	default:
	}
	d.sent++
	return true
}

// send makes one transfer under key and records its outcome.
func (d *driver) send(ctx context.Context, r *rand.Rand, key string) {
	accounts := d.cs.Accounts
	from := r.IntN(len(d.cs.Tokens))
	to := (from + 1 + r.IntN(len(accounts)-1)) % len(accounts)
	req := apiclient.TransferRequest{From: accounts[from], To: accounts[to],
		Amount: int64(1 + r.IntN(500)), Currency: d.cfg.Currency, Description: "load"}
	t0 := time.Now()
	tr, err := d.cs.API.Transfer(ctx, d.cs.Tokens[from], key, req)
	lat := time.Since(t0)
	p, answered := apiclient.AsProblem(err)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.res.SlowestErr = max(d.res.SlowestErr, lat)
	}
	switch {
	case err == nil:
		d.res.Transfers++
		d.res.Acked[tr.ID] = key
		d.res.AckedAt[tr.ID] = time.Now()
		d.latencies = append(d.latencies, lat)
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
	if l := d.latencies; len(l) > 0 {
		slices.Sort(l)
		res.P50, res.P99, res.Max = l[len(l)/2], l[len(l)*99/100], l[len(l)-1]
	}
	return res
}
