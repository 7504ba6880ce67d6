package contract_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/web"
	"github.com/kubebank/kubebank/src/webhooks"
	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// TestACLUsers starts redis-server with each overlay's ACL users (as
// startRedis does for the contract) and logs in with each process's own
// credentials, as its manifests give them, to check what the ACL
// promises: the web app keeps its sessions through src/web's store and is
// refused everything else, a ledger key above all; the exporter reads the
// server's statistics and no key; each bank process is refused the key
// families it has no business with, and the commands no process needs.
func TestACLUsers(t *testing.T) {
	for _, env := range manifests.Envs {
		t.Run(env, func(t *testing.T) { checkACL(t, env) })
	}
}

// A customer account as the ledger stores it, written as the default user.
const ledgerKey = "bank:acct:1000000016"

func checkACL(t *testing.T, env string) {
	objs, _, err := manifests.Render("overlays/" + env)
	if err != nil {
		t.Fatal(err)
	}
	secret := manifests.SecretValues(objs)
	rds, password := startRedis(t, objs, secret)
	// login is the Redis login of a workload's container: the user and
	// password its env names.
	login := func(workload, userVar, passwordVar string) redispool.Options {
		d := manifests.Find(objs, "Deployment", workload)
		if d == nil {
			t.Fatalf("no Deployment %s", workload)
		}
		e := manifests.Env(manifests.Containers(*d)[0], secret)
		return redispool.Options{URL: rds.URL, Username: e[userVar], Password: e[passwordVar]}
	}
	users := map[string]redispool.Options{"exporter": login("redis-exporter", "REDIS_USER", "REDIS_PASSWORD")}
	for _, w := range []string{"api", "worker", "scheduler", "web"} {
		users[w] = login(w, "BANK_REDIS_USERNAME", "BANK_REDIS_PASSWORD")
	}

	admin, err := redis.DialURL(rds.URL, redis.DialPassword(password))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	account := []any{"number", "1000000016", "owner", "u_alice", "currency", "EUR", "balance", "5000", "status", "active"}
	if _, err := admin.Do("HSET", append([]any{ledgerKey}, account...)...); err != nil {
		t.Fatal(err)
	}

	webSessionsWork(t, users["web"])
	workerDeliversWebhooks(t, users["api"], users["worker"])

	type check struct {
		user    string
		allowed bool
		cmd     []any
	}
	var checks []check
	allow := func(user string, cmds ...[]any) {
		for _, c := range cmds {
			checks = append(checks, check{user, true, c})
		}
	}
	refuse := func(user string, cmds ...[]any) {
		for _, c := range cmds {
			checks = append(checks, check{user, false, c})
		}
	}
	cmd := func(args ...any) []any { return args }
	// What no process may do: read every key name, wipe or reconfigure
	// the server, read the default user's password, change the ACL.
	for _, u := range []string{"api", "worker", "scheduler", "web", "exporter"} {
		refuse(u, cmd("KEYS", "*"), cmd("SCAN", "0"), cmd("RANDOMKEY"), cmd("FLUSHALL"), cmd("FLUSHDB"), cmd("CONFIG", "SET", "appendonly", "no"),
			cmd("CONFIG", "GET", "requirepass"), cmd("ACL", "SETUSER", u, "allkeys", "+@all"), cmd("ACL", "LIST"),
			cmd("SHUTDOWN", "NOSAVE"), cmd("SWAPDB", "0", "1"), cmd("MONITOR"))
	}
	// The web app: its sessions only (webSessionsWork); nothing of the
	// ledger's, not even through a script or a rename.
	allow("web", cmd("PING"))
	refuse("web",
		cmd("HGETALL", ledgerKey), cmd("HSET", ledgerKey, "balance", "100000000"), cmd("SET", ledgerKey, "x"), cmd("DEL", ledgerKey),
		cmd("EVAL", "return redis.call('HSET', KEYS[1], 'balance', '100000000')", 1, ledgerKey),
		cmd("EVAL", "return redis.call('HSET', 'bank:acct:1000000016', 'balance', '100000000')", 0),
		cmd("RENAME", "bank:web:session:x", ledgerKey), cmd("COPY", ledgerKey, "bank:web:session:x"),
		cmd("GET", "bank:token:x"), cmd("HGETALL", "bank:user:u_alice"), cmd("LPUSH", "bank-jobs:jobs:reconciliation", "{}"),
		cmd("SCAN", "0"))
	// The exporter: statistics, no keys at all.
	allow("exporter", cmd("INFO"), cmd("INFO", "ALL"), cmd("CLIENT", "SETNAME", "redis_exporter"), cmd("LATENCY", "LATEST"),
		cmd("LATENCY", "HISTOGRAM"), cmd("SLOWLOG", "LEN"), cmd("SLOWLOG", "GET", "1"))
	refuse("exporter", cmd("GET", "bank:web:session:x"), cmd("HGETALL", ledgerKey), cmd("SET", "x", "1"), cmd("SCAN", "0"),
		cmd("EVAL", "return 1", 0), cmd("CLIENT", "LIST"), cmd("CLIENT", "KILL", "TYPE", "normal"), cmd("CONFIG", "GET", "maxmemory"))
	// The api: the ledger and its users, never the web's sessions; the
	// jobs and the reconciliation only to read.
	allow("api", cmd("HGETALL", ledgerKey), cmd("SORT", "bank:accounts", "ALPHA"), cmd("LLEN", "bank-jobs:jobs:reconciliation"),
		cmd("GET", "bank:reconciliation:last"), cmd("GET", "bank:token:x"))
	refuse("api", cmd("GET", "bank:web:session:x"), cmd("SET", "bank:web:session:x", "{}"), cmd("LPUSH", "bank-jobs:jobs:reconciliation", "{}"),
		cmd("SET", "bank:reconciliation:last", "{}"), cmd("HSET", "bank:interest:1000000016", "carry", "0"),
		cmd("SET", "bank:statement:1000000016:2026-01", "{}"), cmd("SORT", "bank:accounts", "BY", "bank:acct:*->balance"))
	// The worker: the ledger and the jobs, never users, tokens, sessions,
	// and webhooks only to read.
	allow("worker", cmd("HGETALL", ledgerKey), cmd("LPUSH", "bank-jobs:jobs:reconciliation", "{}"), cmd("HGETALL", "bank:webhook:wh_1"),
		cmd("SCRIPT", "LOAD", "return 1"))
	refuse("worker", cmd("GET", "bank:web:session:x"), cmd("HGETALL", "bank:user:u_alice"), cmd("GET", "bank:token:x"),
		cmd("SET", "bank:username:mallory", "u_1"), cmd("HSET", "bank:webhook:wh_1", "url", "https://1.1.1.1/"),
		cmd("SCRIPT", "FLUSH"))
	// The scheduler: the jobs; the reconciliation result to read.
	allow("scheduler", cmd("LLEN", "bank-jobs:jobs:reconciliation"), cmd("GET", "bank:reconciliation:last"))
	refuse("scheduler", cmd("HGETALL", ledgerKey), cmd("SET", "bank:reconciliation:last", "{}"), cmd("GET", "bank:web:session:x"),
		cmd("GET", "bank:token:x"), cmd("XADD", "bank:outbox", "*", "type", "transfer"))

	// The audit trail is append-only for everyone: the api and the worker
	// (bank jobs run) append through the trail's own script, and nobody
	// can delete, trim or overwrite an entry, directly or in a script.
	appendScript := "return redis.call('XADD', 'bank:audit', '*', 'actor', 'x')"
	for _, u := range []string{"api", "worker"} {
		allow(u, cmd("EVAL", appendScript, 0))
		refuse(u, cmd("DEL", "bank:audit"), cmd("XTRIM", "bank:audit", "MAXLEN", "0"), cmd("XDEL", "bank:audit", "1-1"),
			cmd("SET", "bank:audit", "x"), cmd("RENAME", "bank:audit", "bank:audit-account:1"), cmd("UNLINK", "bank:audit-actor:u_1"),
			cmd("XTRIM", "bank:audit-account:1000000016", "MAXLEN", "0"), cmd("EXPIRE", "bank:audit", "1"),
			cmd("EVAL", "return redis.call('DEL', 'bank:audit')", 0), cmd("XGROUP", "CREATE", "bank:audit", "g", "0"))
	}
	allow("api", cmd("XREVRANGE", "bank:audit", "+", "-", "COUNT", "1"), cmd("XREVRANGE", "bank:audit-actor:u_1", "+", "-"))
	for _, u := range []string{"scheduler", "web", "exporter"} {
		refuse(u, cmd("EVAL", appendScript, 0), cmd("XADD", "bank:audit", "*", "actor", "x"))
	}

	for _, c := range checks {
		err := runAs(users[c.user], c.cmd...)
		// SORT's BY and GET, which can read any key, have their own error,
		// and so does a command a script runs.
		refused := err != nil && (strings.HasPrefix(err.Error(), "NOPERM") || strings.Contains(err.Error(), "insufficient ACL permissions") ||
			strings.Contains(err.Error(), "can't access at least one of the keys"))
		switch {
		case err != nil && !refused:
			t.Errorf("%s: %v: %v", c.user, c.cmd, err)
		case c.allowed && refused:
			t.Errorf("%s may not run %v: %v", c.user, c.cmd, err)
		case !c.allowed && !refused:
			t.Errorf("%s may run %v", c.user, c.cmd)
		}
	}
	// And the account is as the ledger left it.
	got, err := redis.Values(admin.Do("HGETALL", ledgerKey))
	if err != nil || fmt.Sprintf("%s", got) != fmt.Sprintf("%s", account) {
		t.Errorf("%s is now %s (%v), was %s", ledgerKey, got, err, account)
	}
	// The web pod's password is no other user's.
	for _, u := range []string{"api", "worker", "scheduler", "exporter", "default"} {
		if err := runAs(redispool.Options{URL: rds.URL, Username: u, Password: users["web"].Password}, "PING"); err == nil {
			t.Errorf("the web app's password logs in as %s", u)
		}
	}
}

// webSessionsWork creates, reads, updates and deletes a session through
// the web app's real session store, logged in as o.
func webSessionsWork(t *testing.T, o redispool.Options) {
	t.Helper()
	pool := redispool.New(o)
	defer pool.Close()
	ctx := context.Background()
	sessions := web.NewSessions(pool, time.Hour)
	s := &web.Session{Token: "api-token", UserID: "u_alice", Username: "alice", Role: bank.Customer}
	if err := sessions.Create(ctx, s, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("web user: create a session: %v", err)
	}
	s.Flash = "Saved."
	if err := sessions.Save(ctx, s); err != nil {
		t.Fatalf("web user: save a session: %v", err)
	}
	got, err := sessions.Get(ctx, s.ID)
	if err != nil || got == nil || got.Username != "alice" || got.Flash != "Saved." {
		t.Fatalf("web user: read the session: %+v, %v", got, err)
	}
	if err := sessions.Delete(ctx, s.ID); err != nil {
		t.Fatalf("web user: delete the session: %v", err)
	}
	if got, err := sessions.Get(ctx, s.ID); err != nil || got != nil {
		t.Fatalf("web user: the deleted session reads %+v, %v", got, err)
	}
}

// workerDeliversWebhooks stores a webhook as the api does and delivers an
// event to it as the worker's delivery job does, each logged in as its
// own user: the one worker path the contract run cannot reach, since a
// cluster's worker delivers only to public https addresses.
func workerDeliversWebhooks(t *testing.T, api, worker redispool.Options) {
	t.Helper()
	ctx := context.Background()
	got := make(chan string, 2)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(webhooks.HeaderEventID)
	}))
	defer receiver.Close()
	opt := webhooks.Options{AllowPrivate: true} // the receiver is on loopback
	apiPool, workerPool := redispool.New(api), redispool.New(worker)
	defer apiPool.Close()
	defer workerPool.Close()
	h, err := webhooks.NewStore(apiPool, opt).Create(ctx, "u_alice", receiver.URL, nil, time.Now())
	if err != nil {
		t.Fatalf("api user: create a webhook: %v", err)
	}
	d := &webhooks.Deliverer{Store: webhooks.NewStore(workerPool, opt), Client: webhooks.NewClient(opt, 5*time.Second), Now: time.Now}
	for range 2 { // the second time it was delivered already: nothing is sent
		if err := d.Deliver(ctx, h.ID, "ev_acl", webhooks.StatementReady, []byte(`{}`)); err != nil {
			t.Fatalf("worker user: deliver a webhook: %v", err)
		}
	}
	if len(got) != 1 || <-got != "ev_acl" {
		t.Errorf("the receiver got %d deliveries, want the event once", len(got))
	}
}

// runAs runs one command logged in as o and returns Redis's error.
func runAs(o redispool.Options, args ...any) error {
	c, err := redis.DialURL(o.URL, redis.DialUsername(o.Username), redis.DialPassword(o.Password))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Do(fmt.Sprint(args[0]), args[1:]...)
	return err
}
