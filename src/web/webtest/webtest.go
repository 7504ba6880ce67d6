// Package webtest starts the real stack the web app needs for a test: a
// private redis-server, the real API handler and the web app, each on its
// own loopback HTTP server. The web handler tests and the browser test
// share it, so both exercise the API that production runs, never a fake.
package webtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/apiclient"
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
	"github.com/kubebank/kubebank/src/web"
	"github.com/kubebank/kubebank/src/webhooks"
)

// Stack is a running redis + API + web app.
type Stack struct {
	Redis    *redistest.Server
	Pool     *redis.Pool
	Ledger   *ledger.Ledger
	Auth     *auth.Service
	API      *httptest.Server
	Client   *apiclient.Client // talks to API
	Web      *httptest.Server
	Ops      *httptest.Server // the web app's /healthz, /readyz and /metrics (its --metrics-addr)
	WebApp   *web.Server
	Sessions *web.Sessions
}

// Options tune the stack.
type Options struct {
	SessionTTL time.Duration // default 1h
	Log        *slog.Logger  // default: discard, unless BANK_TEST_LOG is set
}

// Start brings the stack up and tears it down when the test ends.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	if o.SessionTTL == 0 {
		o.SessionTTL = time.Hour
	}
	if o.Log == nil {
		var w io.Writer = io.Discard
		if os.Getenv("BANK_TEST_LOG") != "" {
			w = os.Stderr
		}
		o.Log = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	st := &Stack{Redis: redistest.Start(t)}
	st.Pool = st.Redis.Pool(t)
	st.Ledger = ledger.New(st.Pool)
	if err := st.Ledger.EnsureSystemAccounts(context.Background()); err != nil {
		t.Fatalf("system accounts: %v", err)
	}
	st.Auth = auth.New(st.Pool, auth.DefaultLimits)
	// Cheap hashes keep tests fast; the cost parameters are the auth
	// package's concern and tested there.
	st.Auth.Argon2 = auth.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}

	apiSrv := api.New(api.Config{Ledger: st.Ledger, Auth: st.Auth, Log: o.Log, Registry: prometheus.NewRegistry(),
		Audit:      audit.New(st.Pool),
		Statements: statements.NewStore(st.Pool),
		Standing:   standing.NewStore(st.Pool, st.Ledger, time.UTC),
		Webhooks:   webhooks.NewStore(st.Pool, webhooks.Options{}),
		PoolStats:  st.Pool.Stats,
		QueueStats: func(ctx context.Context) ([]bank.QueueStat, error) { return jobs.Stats(ctx, st.Pool, jobs.Namespace) }})
	mux := http.NewServeMux()
	service.NewProbes(map[string]service.Check{
		"redis": func(ctx context.Context) error { return redispool.Ping(ctx, st.Pool) },
	}).Mount(mux, prometheus.NewRegistry())
	mux.Handle("/", apiSrv)
	st.API = httptest.NewServer(mux)
	t.Cleanup(st.API.Close)
	st.Client = apiclient.New(st.API.URL, nil)

	st.Sessions = web.NewSessions(st.Pool, o.SessionTTL)
	app, err := web.New(web.Options{API: st.Client, Sessions: st.Sessions, Logger: o.Log})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	st.WebApp = app
	st.Web = httptest.NewServer(app)
	t.Cleanup(st.Web.Close)
	st.Ops = httptest.NewServer(app.OpsHandler())
	t.Cleanup(st.Ops.Close)
	return st
}

// CreateUser makes a user with role directly in the user store (tellers
// cannot sign up) and returns an API token for it.
func (st *Stack) CreateUser(t testing.TB, username, password string, role bank.Role) (bank.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := st.Auth.CreateUser(ctx, username, password, role)
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	l, err := st.Client.Login(ctx, username, password)
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return u, l.Token
}

// OpenAccount opens an account for token's user through the API.
func (st *Stack) OpenAccount(t testing.TB, token, currency string) apiclient.Account {
	t.Helper()
	a, err := st.Client.OpenAccount(context.Background(), token, apiclient.OpenAccount{Type: "checking", Currency: currency})
	if err != nil {
		t.Fatalf("open account: %v", err)
	}
	return a
}

// Deposit puts cash on an account as the teller with token tellerToken.
func (st *Stack) Deposit(t testing.TB, tellerToken, number string, amount int64, currency string) {
	t.Helper()
	_, err := st.Client.Deposit(context.Background(), tellerToken, "test-"+ledger.NewID("dep"),
		apiclient.CashRequest{Account: number, Amount: amount, Currency: currency, Description: "test deposit"})
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
}

// Balance reads an account straight from the ledger.
func (st *Stack) Balance(t testing.TB, number string) int64 {
	t.Helper()
	a, err := st.Ledger.Account(context.Background(), number)
	if err != nil {
		t.Fatalf("account %s: %v", number, err)
	}
	return a.Balance
}
