package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/schedule"
)

// useTheBank does, through the running processes, what the bank's people
// do, while each process is logged in to Redis as its container's env
// says (its own ACL user, in the test server started with the manifests'
// ACL): an operator creates staff in the api pod (`bank admin
// create-user`, as docs/runbook.md does); customers register, open
// accounts, move money, hold, order and subscribe through the API; a
// customer logs in to the web app, opens an account there and logs out;
// the worker runs every periodic job in its pod and the reconciliation an
// operator enqueues from there; the scheduler's enqueuer and metrics run
// meanwhile. A command an ACL user may not run fails a step here, or, in
// a background loop, shows in Redis's ACL log (noACLDenials).
func useTheBank(t *testing.T, ready map[string]*process) {
	t.Helper()
	api, web, worker, scheduler := ready["api"], ready["web"], ready["worker"], ready["scheduler"]
	if api == nil || web == nil || worker == nil || scheduler == nil {
		t.Error("not every bank process is ready, so the bank cannot be used")
		return
	}
	ctx := context.Background()
	cl := apiclient.New("http://"+api.listen[8000], nil)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	execIn(t, api, "acl-teller-password\n", "admin", "create-user", "--username", "acl-teller", "--role", "teller", "--password-stdin")
	execIn(t, api, "acl-admin-password\n", "admin", "create-user", "--username", "acl-admin", "--role", "admin", "--password-stdin")
	for _, u := range []string{"acl-alice", "acl-bob"} {
		_, err := cl.Register(ctx, u, u+"-password")
		must("register "+u, err)
	}
	login := func(user string) string {
		t.Helper()
		l, err := cl.Login(ctx, user, user+"-password")
		must("login "+user, err)
		return l.Token
	}
	alice, bob, teller, admin := login("acl-alice"), login("acl-bob"), login("acl-teller"), login("acl-admin")
	open := func(token string, r apiclient.OpenAccount) string {
		t.Helper()
		a, err := cl.OpenAccount(ctx, token, r)
		must("open account", err)
		return a.Number
	}
	a1 := open(alice, apiclient.OpenAccount{Type: "checking", Currency: "EUR", Name: "Everyday"})
	a2 := open(alice, apiclient.OpenAccount{Type: "savings", Currency: "EUR", InterestRateBPS: 150})
	b1 := open(bob, apiclient.OpenAccount{Type: "checking", Currency: "EUR"})

	_, err := cl.Deposit(ctx, teller, "acl-deposit", apiclient.CashRequest{Account: a1, Amount: 100_00, Currency: "EUR"})
	must("teller deposit", err)
	tr := apiclient.TransferRequest{From: a1, To: b1, Amount: 25_00, Currency: "EUR", Description: "rent"}
	first, err := cl.Transfer(ctx, alice, "acl-transfer", tr)
	must("transfer", err)
	again, err := cl.Transfer(ctx, alice, "acl-transfer", tr)
	must("transfer replayed", err)
	if again.ID != first.ID {
		t.Errorf("a replayed transfer made %s, not %s", again.ID, first.ID)
	}
	_, err = cl.Transfer(ctx, alice, "acl-saving", apiclient.TransferRequest{From: a1, To: a2, Amount: 10_00, Currency: "EUR"})
	must("transfer to savings", err)
	_, err = cl.Withdraw(ctx, teller, "acl-withdrawal", apiclient.CashRequest{Account: b1, Amount: 5_00, Currency: "EUR"})
	must("teller withdrawal", err)
	for i, end := range []string{"capture", "void"} {
		var h struct{ ID string }
		callAPI(t, api, "POST", "/v1/holds", alice, fmt.Sprintf("acl-hold-%d", i),
			map[string]any{"account": a1, "payee": b1, "amount": 3_00, "currency": "EUR"}, http.StatusCreated, &h)
		callAPI(t, api, "POST", "/v1/holds/"+h.ID+"/"+end, alice, fmt.Sprintf("acl-%s-%d", end, i), map[string]any{}, http.StatusOK, nil)
	}
	_, err = cl.Entries(ctx, alice, a1, apiclient.EntryQuery{Limit: 10})
	must("entries", err)
	_, err = cl.Holds(ctx, alice, a1)
	must("holds", err)
	so, err := cl.CreateStandingOrder(ctx, alice, "acl-standing", apiclient.StandingOrderRequest{From: a1, To: b1, Amount: 1_00,
		Currency: "EUR", Frequency: "monthly", FirstDate: time.Now().UTC().Format(time.DateOnly)})
	must("standing order", err)
	_, err = cl.SearchCustomers(ctx, teller, "acl-")
	must("teller search", err)
	_, err = cl.SetStatus(ctx, teller, b1, "freeze")
	must("freeze", err)
	_, err = cl.SetStatus(ctx, admin, b1, "unfreeze") // unfreezing is for admins
	must("unfreeze", err)
	_, err = cl.Statements(ctx, alice, a1)
	must("statements", err)
	// The admin has no accounts, so no event is ever delivered to it.
	var hook struct{ ID string }
	callAPI(t, api, "POST", "/v1/webhooks", admin, "", map[string]any{"url": "https://1.1.1.1/kubebank-contract"}, http.StatusCreated, &hook)
	callAPI(t, api, "GET", "/v1/webhooks", admin, "", nil, http.StatusOK, nil)
	callAPI(t, api, "DELETE", "/v1/webhooks/"+hook.ID, admin, "", nil, http.StatusNoContent, nil)
	_, err = cl.Jobs(ctx, admin)
	must("job stats", err)
	_, err = cl.Me(ctx, bob)
	must("me", err)
	must("logout", cl.Logout(ctx, bob))

	useTheWebApp(t, web, "acl-alice")

	// An account as old as the bank's oldest: opened and funded 200 days
	// ago by the ledger code the api runs (its clock set back), under the
	// api's Redis user, so that the jobs below have interest to accrue, a
	// statement to issue and an account to mark dormant.
	old := plantOldAccount(t, api)
	for _, job := range schedule.PeriodicNames() {
		execIn(t, worker, "", "jobs", "run", job, "--inline")
	}
	if a, err := cl.Account(ctx, admin, old); err != nil || a.Status != bank.Dormant {
		t.Errorf("the dormancy sweep left the 200 days old account %s %q (%v)", old, a.Status, err)
	}
	if st, err := cl.Statements(ctx, admin, old); err != nil || len(st) == 0 {
		t.Errorf("no statement issued for the 200 days old account: %v, %v", st, err)
	}
	if e, err := cl.Entries(ctx, admin, old, apiclient.EntryQuery{Limit: 5}); err != nil || len(e.Entries) < 2 {
		t.Errorf("no interest accrued on the 200 days old savings account: %+v, %v", e, err)
	}
	orders, err := cl.StandingOrders(ctx, alice)
	must("standing orders", err)
	for _, o := range orders {
		if o.ID == so.ID && (len(o.Runs) == 0 || o.Runs[0].Status != "executed") {
			t.Errorf("the standing order due today did not run: %+v", o)
		}
	}
	// What the operator enqueues from the worker pod, the worker pool runs.
	enqueued := time.Now()
	execIn(t, worker, "", "jobs", "run", "reconciliation")
	execIn(t, worker, "", "jobs", "list")
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec, err := cl.Reconciliation(ctx, admin)
		if err == nil && rec.Report.CheckedAt.After(enqueued) {
			if !rec.Balanced || rec.Report.Accounts < 3 {
				t.Errorf("reconciliation by the worker pool: %+v", rec)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the enqueued reconciliation did not run within 20s (last: %+v, %v)", rec, err)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// What staff and operators did is on the audit trail, written under
	// the api's and the worker's users (noACLDenials proves they could).
	var trail struct {
		Entries []struct{ Actor, Role, Action, Target, Outcome string }
	}
	callAPI(t, api, "GET", "/v1/admin/audit?limit=200", admin, "", nil, http.StatusOK, &trail)
	seen := map[string]bool{}
	for _, e := range trail.Entries {
		seen[e.Role+" "+e.Action+" "+e.Outcome] = true
		if e.Action == "job.run" {
			seen["job.run "+e.Target] = true
		}
	}
	for _, w := range []string{"operator user.create ok", "teller cash.deposit ok", "teller cash.withdrawal ok", "teller account.freeze ok",
		"admin account.unfreeze ok", "operator job.run ok", "job.run reconciliation", "job.run interest-accrual"} {
		if !seen[w] {
			t.Errorf("the audit trail has no %q entry: %+v", w, trail.Entries)
		}
	}
	// The scheduler's enqueuer ran and its collectors read the queues and
	// the reconciliation result under its user.
	metrics := fetchBody(t, "http://"+scheduler.listen[9090]+"/metrics")
	for _, m := range []string{"bank_jobs_stats_up 1", "bank_scheduler_last_enqueue_timestamp_seconds ", "bank_reconciliation_last_success_timestamp_seconds "} {
		if !strings.Contains(metrics, m) || strings.Contains(metrics, m+"0\n") {
			t.Errorf("scheduler metrics lack %q", m)
		}
	}
}

// plantOldAccount opens a savings account 200 days in the past and
// deposits into it, through the ledger package as the api process's Redis
// user, and returns its number.
func plantOldAccount(t *testing.T, api *process) string {
	t.Helper()
	env := map[string]string{}
	for _, kv := range api.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	pool := redispool.New(redispool.Options{URL: env["BANK_REDIS_URL"], Username: env["BANK_REDIS_USERNAME"], Password: env["BANK_REDIS_PASSWORD"]})
	defer pool.Close()
	ctx := context.Background()
	l := ledger.New(pool)
	then := time.Now().AddDate(0, 0, -200)
	l.Now = func() time.Time { return then }
	a, err := l.Open(ctx, ledger.OpenRequest{Owner: "u_acl_old", Type: bank.Savings, Currency: "EUR", InterestRate: 500})
	if err != nil {
		t.Fatalf("ledger as the api user: %v", err)
	}
	if _, _, err := l.Deposit(ctx, a.Number, 1000_00, "EUR", "opening deposit", "u_acl_teller", ledger.Idem{}); err != nil {
		t.Fatalf("ledger as the api user: %v", err)
	}
	return a.Number
}

// useTheWebApp logs in to the web app, opens an account there (the flash
// message is saved in the session and cleared on the next page), and logs
// out: every session command the web app uses, under its ACL user. The
// cookie is carried by hand: staging and prod mark it Secure, which a
// cookie jar would not send over http.
func useTheWebApp(t *testing.T, web *process, user string) {
	t.Helper()
	base := "http://" + web.listen[3000]
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var cookies []*http.Cookie
	// send returns the redirect's target, or the page.
	send := func(method, path string, form url.Values, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, b := exchange(t, client, req, want)
		if path == "/login" {
			cookies = resp.Cookies()
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			return loc
		}
		return string(b)
	}
	send("POST", "/login", url.Values{"username": {user}, "password": {user + "-password"}}, http.StatusSeeOther)
	if len(cookies) == 0 {
		t.Fatal("web login set no session cookie")
	}
	send("GET", "/dashboard", nil, http.StatusOK)
	account := send("POST", "/accounts", url.Values{"type": {"savings"}, "currency": {"EUR"}}, http.StatusSeeOther)
	if page := send("GET", account, nil, http.StatusOK); !strings.Contains(page, "is open") {
		t.Error("the web app did not show the flash message kept in the session")
	}
	send("GET", account, nil, http.StatusOK) // the flash was cleared (SET ... KEEPTTL XX)
	send("POST", "/logout", url.Values{}, http.StatusSeeOther)
	if to := send("GET", "/dashboard", nil, http.StatusSeeOther); !strings.HasPrefix(to, "/login") {
		t.Errorf("after logout the session still opens the dashboard (redirect %q)", to)
	}
}

// callAPI sends a JSON request where apiclient has no method and decodes
// the answer into out (when not nil).
func callAPI(t *testing.T, api *process, method, path, token, idemKey string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+api.listen[8000]+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	_, b := exchange(t, &http.Client{Timeout: 10 * time.Second}, req, want)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// exchange sends req and fails the test unless the answer has status
// want; it returns the answer and its body.
func exchange(t *testing.T, client *http.Client, req *http.Request, want int) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %.300s", req.Method, req.URL, resp.StatusCode, want, b)
	}
	return resp, b
}

func fetchBody(t *testing.T, target string) string {
	t.Helper()
	code, body := fetch(target)
	if code != http.StatusOK {
		t.Errorf("GET %s: %d %.200s", target, code, body)
	}
	return body
}

// execIn runs `bank args...` with p's environment, as `kubectl exec` into
// its pod would (stdin, when not empty, is the command's input).
func execIn(t *testing.T, p *process, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bankBinary, args...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bank %s in the %s pod: %v\n%s", strings.Join(args, " "), p.name, err, out)
	}
}

// noACLDenials fails the test with every entry of Redis's ACL log: a
// command some ACL user was refused, anywhere, background loops and
// shutdown included.
func noACLDenials(t *testing.T, addr, password string) {
	t.Helper()
	c, err := redis.Dial("tcp", addr, redis.DialPassword(password))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	entries, err := redis.Values(c.Do("ACL", "LOG"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fields, _ := redis.Values(e, nil)
		m := map[string]string{}
		for i := 0; i+1 < len(fields); i += 2 {
			v := fields[i+1]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			m[fmt.Sprintf("%s", fields[i])] = fmt.Sprint(v)
		}
		t.Errorf("Redis refused user %q: %s %q (context %s, %s times)", m["username"], m["reason"], m["object"], m["context"], m["count"])
	}
}
