package system

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// answer is one API answer to a request made while Redis was away.
type answer struct {
	status     int
	code       string
	retryAfter string
	took       time.Duration
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s (Retry-After %q) in %s", a.status, a.code, a.retryAfter, a.took.Round(time.Millisecond))
}

// ask sends one request and reads status, problem code and Retry-After.
func ask(t *testing.T, hc *http.Client, method, url, token string, body any) answer {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprint("unavail-", time.Now().UnixNano()))
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return answer{status: -1, code: err.Error(), took: time.Since(start)}
	}
	defer resp.Body.Close()
	var p apiclient.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return answer{status: resp.StatusCode, code: p.Code, retryAfter: resp.Header.Get("Retry-After"), took: time.Since(start)}
}

// TestRedisAwayIsAFast503 stops Redis (SIGSTOP) and then kills it: every
// API answer meanwhile is 503 unavailable with Retry-After within the
// bound (--redis-timeout, here 500ms, plus slack for a loaded machine),
// /readyz fails, and both recover by themselves once Redis is back.
func TestRedisAwayIsAFast503(t *testing.T) {
	ctx := context.Background()
	rds := redistest.Start(t)
	port, _ := redisproc.FreePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	const timeout = 500 * time.Millisecond
	env := []string{"BANK_REDIS_URL=" + rds.URL, fmt.Sprintf("BANK_ADDR=127.0.0.1:%d", port), "BANK_LOG_LEVEL=error",
		"BANK_REDIS_TIMEOUT=" + timeout.String()}
	if err := run(env, "admin", "create-user", "--username", "awayteller", "--password", "away-teller-pw", "--role", "teller"); err != nil {
		t.Fatal(err)
	}
	startBank(t, env, "api")
	waitHTTP(t, base+"/readyz")
	api := apiclient.New(base, nil)
	login, err := api.Login(ctx, "awayteller", "away-teller-pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Register(ctx, "awaycustomer", "away-customer-pw"); err != nil {
		t.Fatal(err)
	}
	cl, err := api.Login(ctx, "awaycustomer", "away-customer-pw")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := api.OpenAccount(ctx, cl.Token, apiclient.OpenAccount{Type: "checking", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	deposit := map[string]any{"account": acct.Number, "amount": 100, "currency": "EUR"}
	hc := &http.Client{Timeout: 30 * time.Second}
	// The bound: a request makes a few Redis calls (token, then the
	// posting); each gives up after the timeout.
	bound := 3*timeout + 2*time.Second

	away := func(name string) {
		var worst time.Duration
		for i := range 6 {
			var a answer
			if i%2 == 0 {
				a = ask(t, hc, "POST", base+"/v1/teller/deposits", login.Token, deposit)
			} else {
				a = ask(t, hc, "GET", base+"/v1/accounts/"+acct.Number, cl.Token, nil)
			}
			if a.status != http.StatusServiceUnavailable || a.code != "unavailable" || a.retryAfter == "" || a.took > bound {
				t.Errorf("%s: answer %s, want 503 unavailable with Retry-After within %s", name, a, bound)
			}
			worst = max(worst, a.took)
		}
		ready := ask(t, hc, "GET", base+"/readyz", "", nil)
		if ready.status == http.StatusOK {
			t.Errorf("%s: /readyz answered 200", name)
		}
		t.Logf("%s: every answer 503 with Retry-After, the slowest in %s; /readyz %d", name, worst.Round(time.Millisecond), ready.status)
	}
	back := func(name string) {
		start := time.Now()
		waitHTTP(t, base+"/readyz")
		if a := ask(t, hc, "POST", base+"/v1/teller/deposits", login.Token, deposit); a.status != http.StatusCreated {
			t.Errorf("%s: after Redis came back a deposit got %s", name, a)
		}
		t.Logf("%s: ready again %s after Redis was back", name, time.Since(start).Round(time.Millisecond))
	}

	if err := rds.Pause(); err != nil {
		t.Fatal(err)
	}
	away("paused")
	if err := rds.Resume(); err != nil {
		t.Fatal(err)
	}
	back("paused")

	rds.Kill()
	away("killed")
	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}
	back("killed")
}
