// Package loadgen drives a running API with concurrent customer transfers
// and prints what it measured: throughput, latency percentiles and
// outcomes. It only uses the public HTTP API, so it measures what a client
// sees, and it records every acknowledged transfer so that fault tests can
// check none was lost or applied twice.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
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
}

// Result of a run.
type Result struct {
	Transfers  int            // acknowledged (201) transfers
	Outcomes   map[string]int // by status code or problem code
	Elapsed    time.Duration
	P50, P99   time.Duration
	Max        time.Duration
	Accounts   []string          // account numbers used
	Acked      map[string]string // transfer id → idempotency key
	Unanswered []Attempt         // requests without a definite answer (no response, or 5xx): outcome unknown
}

// Attempt is one transfer request whose answer was lost; retrying it with
// the same Idempotency-Key tells whether it was applied.
type Attempt struct {
	Customer int
	Key      string
	Body     []byte
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

// Client is a minimal API client for the load generator.
type Client struct {
	Base  string
	HTTP  *http.Client
	Token string
}

// Do sends a JSON request and decodes a JSON answer into out (if not nil).
// It returns the status code; err is set only when no answer arrived.
func (c *Client) Do(ctx context.Context, method, path string, body any, idemKey string, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return 0, nil, err
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, raw, nil
}

// Login returns a client logged in as user.
func Login(ctx context.Context, base string, hc *http.Client, user, password string) (*Client, error) {
	c := &Client{Base: base, HTTP: hc}
	var out struct {
		Token string `json:"token"`
	}
	code, raw, err := c.Do(ctx, "POST", "/v1/auth/login", map[string]string{"username": user, "password": password}, "", &out)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("login %s: %d %s", user, code, raw)
	}
	c.Token = out.Token
	return c, nil
}

func expect(code int, raw []byte, err error, want int, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if code != want {
		return fmt.Errorf("%s: status %d: %s", what, code, raw)
	}
	return nil
}

// Setup registers customers, opens one account each and funds it through
// the teller. It returns logged-in clients and their account numbers.
func Setup(ctx context.Context, cfg Config) ([]*Client, []string, error) {
	teller, err := Login(ctx, cfg.APIURL, cfg.Client, cfg.TellerUser, cfg.TellerPassword)
	if err != nil {
		return nil, nil, err
	}
	run := fmt.Sprintf("%x", rand.Uint32())
	clients := make([]*Client, cfg.Customers)
	accounts := make([]string, cfg.Customers)
	for i := range clients {
		user, pw := fmt.Sprintf("load-%s-%d", run, i), "load-password-"+run
		anon := &Client{Base: cfg.APIURL, HTTP: cfg.Client}
		code, raw, err := anon.Do(ctx, "POST", "/v1/auth/register", map[string]string{"username": user, "password": pw}, "", nil)
		if err := expect(code, raw, err, 201, "register"); err != nil {
			return nil, nil, err
		}
		if clients[i], err = Login(ctx, cfg.APIURL, cfg.Client, user, pw); err != nil {
			return nil, nil, err
		}
		var acct struct {
			Number string `json:"number"`
		}
		code, raw, err = clients[i].Do(ctx, "POST", "/v1/accounts", map[string]any{"type": "checking", "currency": cfg.Currency}, "", &acct)
		if err := expect(code, raw, err, 201, "open account"); err != nil {
			return nil, nil, err
		}
		accounts[i] = acct.Number
		code, raw, err = teller.Do(ctx, "POST", "/v1/teller/deposits",
			map[string]any{"account": acct.Number, "amount": cfg.Funding, "currency": cfg.Currency}, "fund-"+run+"-"+acct.Number, nil)
		if err := expect(code, raw, err, 201, "deposit"); err != nil {
			return nil, nil, err
		}
	}
	return clients, accounts, nil
}

// Run sets up accounts and drives transfers between them.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency}}
	}
	clients, accounts, err := Setup(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	return Drive(ctx, cfg, clients, accounts), nil
}

// Drive sends transfers from random customers to random other accounts.
func Drive(ctx context.Context, cfg Config, clients []*Client, accounts []string) Result {
	res := Result{Outcomes: map[string]int{}, Accounts: accounts, Acked: map[string]string{}}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		sent      int
	)
	deadline := time.Now().Add(cfg.Duration)
	next := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil || (cfg.Requests > 0 && sent >= cfg.Requests) || (cfg.Requests == 0 && time.Now().After(deadline)) {
			return false
		}
		sent++
		return true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for i := 0; next(); i++ {
				from := r.IntN(len(clients))
				to := (from + 1 + r.IntN(len(accounts)-1)) % len(accounts)
				body, _ := json.Marshal(map[string]any{"from": accounts[from], "to": accounts[to],
					"amount": 1 + r.IntN(500), "currency": cfg.Currency, "description": "load"})
				key := fmt.Sprintf("load-%d-%d-%d", start.UnixNano(), w, i)
				var tr struct {
					ID string `json:"id"`
				}
				t0 := time.Now()
				code, raw, err := clients[from].Do(ctx, "POST", "/v1/transfers", body, key, &tr)
				lat := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					res.Outcomes["no_answer"]++
					res.Unanswered = append(res.Unanswered, Attempt{Customer: from, Key: key, Body: body})
				case code >= 500:
					// The server answered but cannot know whether the
					// posting landed (e.g. Redis died mid-reply): the
					// outcome is unknown until retried with the same key.
					res.Outcomes[fmt.Sprint(code)]++
					res.Unanswered = append(res.Unanswered, Attempt{Customer: from, Key: key, Body: body})
				case code == 201:
					res.Transfers++
					res.Acked[tr.ID] = key
					latencies = append(latencies, lat)
				default:
					var p struct {
						Code string `json:"code"`
					}
					_ = json.Unmarshal(raw, &p)
					res.Outcomes[fmt.Sprintf("%d:%s", code, p.Code)]++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Outcomes["201"] = res.Transfers
	if len(latencies) > 0 {
		slices.Sort(latencies)
		res.P50 = latencies[len(latencies)/2]
		res.P99 = latencies[len(latencies)*99/100]
		res.Max = latencies[len(latencies)-1]
	}
	return res
}
