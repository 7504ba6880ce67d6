package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/service"
	"github.com/kubebank/kubebank/src/standing"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/webhooks"
)

// env is one API server on its own redis-server, with a client that
// checks every response against the OpenAPI document.
type env struct {
	t       testing.TB
	URL     string
	Ledger  *ledger.Ledger
	Pool    *redis.Pool
	Auth    *auth.Service
	API     *api.Server
	router  routers.Router
	checked atomic.Int64
	client  *http.Client
	// skipValidation turns the OpenAPI check off for benchmarks.
	skipValidation bool
}

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

func loadDoc() (*openapi3.T, error) {
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, docErr = loader.LoadFromData(api.OpenAPI)
		if docErr == nil {
			docErr = doc.Validate(context.Background())
		}
	})
	return doc, docErr
}

type envOpts struct {
	limits   *auth.Limits
	location *time.Location
	trusted  []netip.Prefix
}

func newEnv(t testing.TB, opts ...envOpts) *env {
	t.Helper()
	var o envOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	srv := redistest.Start(t)
	pool := srv.Pool(t)
	l := ledger.New(pool)
	// As `bank api` runs by default: the one-script requests share writes
	// (group commit), so every test here goes through the pipeline.
	pipe := redispool.NewPipeline(pool, 0)
	t.Cleanup(pipe.Close)
	l.Pipe = pipe
	if err := l.EnsureSystemAccounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	limits := auth.Limits{FailuresPerUser: 1000, UserWindow: 60e9, AttemptsPerAddr: 10000, AddrWindow: 60e9, RegisterPerAddr: 10000, RegisterWindow: 60e9}
	if o.limits != nil {
		limits = *o.limits
	}
	a := auth.New(pool, limits)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	loc := o.location
	if loc == nil {
		loc = time.UTC
	}
	s := api.New(api.Config{Ledger: l, Auth: a, Log: log, Registry: reg,
		CustomerMaxOverdraft: api.DefaultCustomerMaxOverdraft, CustomerMaxRateBps: api.DefaultCustomerMaxRateBps, TrustedProxies: o.trusted,
		Audit:      audit.New(pool),
		Statements: statements.NewStore(pool),
		Standing:   standing.NewStore(pool, l, loc),
		Webhooks:   webhooks.NewStore(pool, webhooks.Options{}),
		PoolStats:  pool.Stats,
		QueueStats: func(ctx context.Context) ([]bank.QueueStat, error) { return jobs.Stats(ctx, pool, jobs.Namespace) }})
	probes := service.NewProbes(map[string]service.Check{"redis": func(ctx context.Context) error { return redispool.Ping(ctx, pool) }})
	mux := http.NewServeMux()
	probes.Mount(mux, reg)
	mux.Handle("/", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	d, err := loadDoc()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	router, err := legacy.NewRouter(d)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, URL: hs.URL, Ledger: l, Pool: pool, Auth: a, API: s, router: router,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// resp is a response with its body read.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

func (r resp) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json: %s", r.Status, ct, r.Body)
	}
	var p api.Problem
	r.decode(t, &p)
	if p.Status != r.Status || p.Code == "" || p.Detail == "" || p.Title == "" || p.Type == "" {
		t.Fatalf("incomplete problem: %s", r.Body)
	}
	return p
}

// req describes one request. Body may be a []byte/string (sent raw) or any
// value (sent as JSON).
type req struct {
	Method, Path, Token, Key string
	Body                     any
	Header                   map[string]string
}

// do sends a request and validates the response against the OpenAPI
// document; a response the document does not describe fails the test.
func (e *env) do(t testing.TB, rq req) resp {
	t.Helper()
	var body io.Reader
	var raw []byte
	switch b := rq.Body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(rq.Method, e.URL+rq.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if rq.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+rq.Token)
	}
	if rq.Key != "" {
		hr.Header.Set("Idempotency-Key", rq.Key)
	}
	for k, v := range rq.Header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	res, err := e.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.Method, rq.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := resp{Status: res.StatusCode, Header: res.Header, Body: b}
	if e.skipValidation {
		return r
	}
	if err := e.validate(hr, r); err != nil {
		t.Errorf("%s %s → %d does not conform to the OpenAPI document: %v\nbody: %.400s", rq.Method, rq.Path, r.Status, err, b)
	}
	return r
}

func (e *env) validate(hr *http.Request, r resp) error {
	// The router matches on the URL path only; give it one without the
	// test server's host so "servers: [/]" applies.
	vr := hr.Clone(context.Background())
	vr.URL.Scheme, vr.URL.Host, vr.Host = "", "", ""
	route, params, err := e.router.FindRoute(vr)
	if err != nil {
		return fmt.Errorf("no route in the document: %v", err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  r.Status,
		Header:  r.Header,
		Body:    io.NopCloser(bytes.NewReader(r.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	e.checked.Add(1)
	return nil
}

// want fails unless the response has the status (and, for errors, the
// problem code).
func want(t testing.TB, r resp, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %d, want %d: %s", r.Status, status, r.Body)
	}
	if status >= 400 {
		if p := r.problem(t); p.Code != code {
			t.Fatalf("got code %q, want %q: %s", p.Code, code, r.Body)
		}
	}
}

// user registers and logs in a customer, or creates staff directly.
func (e *env) user(t testing.TB, name string, role bank.Role) string {
	t.Helper()
	const pw = "password-" + "123"
	if role == bank.Customer {
		want(t, e.do(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"username": name, "password": pw}}), 201, "")
	} else if _, err := e.Auth.CreateUser(context.Background(), name, pw, role); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"username": name, "password": pw}})
	want(t, r, 200, "")
	var s auth.Session
	r.decode(t, &s)
	return s.Token
}

func (e *env) open(t testing.TB, token string, body map[string]any) api.AccountView {
	t.Helper()
	r := e.do(t, req{Method: "POST", Path: "/v1/accounts", Token: token, Body: body})
	want(t, r, 201, "")
	var a api.AccountView
	r.decode(t, &a)
	return a
}

var keySeq atomic.Int64

func newKey() string { return fmt.Sprintf("key-%d", keySeq.Add(1)) }

func (e *env) deposit(t testing.TB, teller, account string, amount int64, cur string) {
	t.Helper()
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/deposits", Token: teller, Key: newKey(),
		Body: map[string]any{"account": account, "amount": amount, "currency": cur}}), 201, "")
}

// hold authorises a hold (body as for POST /v1/holds) and returns it.
func (e *env) hold(t testing.TB, token string, body map[string]any) bank.Hold {
	t.Helper()
	r := e.do(t, req{Method: "POST", Path: "/v1/holds", Token: token, Key: newKey(), Body: body})
	want(t, r, 201, "")
	var h bank.Hold
	r.decode(t, &h)
	return h
}

func (e *env) account(t testing.TB, number string) bank.Account {
	t.Helper()
	a, err := e.Ledger.Account(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// balanced asserts the ledger invariants: every currency sums to zero and
// every account equals its journal.
func (e *env) balanced(t testing.TB) ledger.Report {
	t.Helper()
	rep, err := e.Ledger.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Balanced() {
		t.Fatalf("ledger out of balance: %+v", rep)
	}
	return rep
}
