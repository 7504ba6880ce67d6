package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
)

// TestOpenAPIDocument checks the document is valid OpenAPI 3 and that it
// describes exactly the routes the server has.
func TestOpenAPIDocument(t *testing.T) {
	d, err := loadDoc()
	if err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	e := newEnv(t)
	documented := map[string]bool{}
	for path, item := range d.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	for _, r := range e.API.Routes() {
		// chi writes {number}, as OpenAPI does.
		served[r] = true
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes served but not documented: %v; documented but not served: %v", missing, extra)
	}
	if len(served) < 25 {
		t.Fatalf("only %d routes found; the route walk is broken", len(served))
	}
	// The server serves the same document.
	r := e.do(t, req{Method: "GET", Path: "/v1/openapi.yaml"})
	if r.Status != 200 || string(r.Body) != string(api.OpenAPI) {
		t.Fatalf("GET /v1/openapi.yaml: %d", r.Status)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		want(t, e.do(t, req{Method: "GET", Path: p}), 200, "")
	}
}

// TestWalkthrough is the README's curl walkthrough and more: every route
// once on its happy path, every response checked against the document.
func TestWalkthrough(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", bank.Customer)
	bob := e.user(t, "bob", bank.Customer)
	teller := e.user(t, "tina", bank.Teller)
	admin := e.user(t, "ada", bank.Admin)

	r := e.do(t, req{Method: "GET", Path: "/v1/me", Token: alice})
	want(t, r, 200, "")
	var me bank.User
	r.decode(t, &me)
	if me.Username != "alice" || me.Role != bank.Customer {
		t.Fatalf("me: %+v", me)
	}

	chk := e.open(t, alice, map[string]any{"type": "checking", "currency": "EUR", "name": "Everyday", "overdraft_limit": 5000})
	sav := e.open(t, alice, map[string]any{"type": "savings", "currency": "EUR", "interest_rate_bps": 150})
	bobs := e.open(t, bob, map[string]any{"type": "checking", "currency": "EUR"})
	if chk.Exponent != 2 || chk.Owner != me.ID || chk.OverdraftLimit != 5000 || chk.Status != bank.Active || sav.InterestRate != 150 {
		t.Fatalf("opened %+v %+v", chk, sav)
	}
	if yen := e.open(t, bob, map[string]any{"type": "checking", "currency": "JPY"}); yen.Exponent != 0 {
		t.Fatalf("JPY exponent %d", yen.Exponent)
	}

	e.deposit(t, teller, chk.Number, 100_00, "EUR")
	r = e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: "rent-1",
		Body: map[string]any{"from": chk.Number, "to": bobs.Number, "amount": 30_00, "currency": "EUR", "description": "Rent — März ☕"}})
	want(t, r, 201, "")
	var tr bank.Transfer
	r.decode(t, &tr)
	if tr.From != chk.Number || tr.To != bobs.Number || tr.Amount != 3000 || tr.Status != "completed" || r.Header.Get("Location") != "/v1/transfers/"+tr.ID {
		t.Fatalf("transfer %+v", tr)
	}
	// Both sides can read the transfer.
	for _, tok := range []string{alice, bob, teller} {
		want(t, e.do(t, req{Method: "GET", Path: "/v1/transfers/" + tr.ID, Token: tok}), 200, "")
	}
	// Overdraft: alice has 70.00 and may go 50.00 below zero.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(),
		Body: map[string]any{"from": chk.Number, "to": sav.Number, "amount": 120_01, "currency": "EUR"}}), 422, "insufficient_funds")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(),
		Body: map[string]any{"from": chk.Number, "to": sav.Number, "amount": 120_00, "currency": "EUR"}}), 201, "")
	if a := e.account(t, chk.Number); a.Balance != -50_00 {
		t.Fatalf("balance %d, want -5000", a.Balance)
	}
	e.deposit(t, teller, chk.Number, 200_00, "EUR") // back to 150.00

	// Holds: authorise 40.00 to bob, capture 25.00; another one voided.
	h := e.hold(t, alice, map[string]any{"account": chk.Number, "payee": bobs.Number, "amount": 40_00, "currency": "EUR", "description": "hotel"})
	if a := e.account(t, chk.Number); a.Balance != 150_00 || a.Held != 40_00 || a.Available != 110_00 {
		t.Fatalf("after hold: %+v", a)
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/accounts/" + chk.Number, Token: alice})
	want(t, r, 200, "")
	var av api.AccountView
	r.decode(t, &av)
	if av.Available != 110_00 || av.Held != 40_00 {
		t.Fatalf("GET account: %+v", av)
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/accounts/" + chk.Number + "/holds", Token: alice})
	want(t, r, 200, "")
	if !strings.Contains(string(r.Body), h.ID) {
		t.Fatalf("holds list lacks %s: %s", h.ID, r.Body)
	}
	want(t, e.do(t, req{Method: "GET", Path: "/v1/holds/" + h.ID, Token: bob}), 200, "") // the payee sees it
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds/" + h.ID + "/capture", Token: bob, Key: newKey(),
		Body: map[string]any{"amount": 40_01}}), 422, "capture_exceeds_hold")
	r = e.do(t, req{Method: "POST", Path: "/v1/holds/" + h.ID + "/capture", Token: bob, Key: newKey(), Body: map[string]any{"amount": 25_00}})
	want(t, r, 200, "")
	r.decode(t, &h)
	if h.Status != bank.HoldCaptured || h.Captured != 25_00 || h.TransferID == "" {
		t.Fatalf("captured hold %+v", h)
	}
	if a := e.account(t, chk.Number); a.Balance != 125_00 || a.Held != 0 {
		t.Fatalf("after capture: %+v", a)
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds/" + h.ID + "/void", Token: alice, Key: newKey()}), 422, "hold_not_active")

	h2 := e.hold(t, alice, map[string]any{"account": chk.Number, "payee": bobs.Number, "amount": 10_00, "currency": "EUR", "expires_in_seconds": 60})
	if d := h2.ExpiresAt.Sub(h2.CreatedAt); d != time.Minute {
		t.Fatalf("hold expiry %v after creation, want 1m", d)
	}
	r = e.do(t, req{Method: "POST", Path: "/v1/holds/" + h2.ID + "/void", Token: alice, Key: newKey(), Body: "{}"})
	want(t, r, 200, "")
	r.decode(t, &h2)
	if h2.Status != bank.HoldVoided {
		t.Fatalf("voided hold %+v", h2)
	}

	// Expired holds cannot be captured.
	now := time.Now()
	e.Ledger.Now = func() time.Time { return now }
	h3 := e.hold(t, alice, map[string]any{"account": chk.Number, "payee": bobs.Number, "amount": 5_00, "currency": "EUR", "expires_in_seconds": 1})
	now = now.Add(2 * time.Second)
	want(t, e.do(t, req{Method: "POST", Path: "/v1/holds/" + h3.ID + "/capture", Token: bob, Key: newKey(), Body: "{}"}), 422, "hold_expired")
	e.Ledger.Now = time.Now

	// History: newest first, paginated, filterable by time.
	var all []bank.Entry
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/accounts/" + chk.Number + "/entries?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r = e.do(t, req{Method: "GET", Path: path, Token: alice})
		want(t, r, 200, "")
		var pg struct {
			Entries    []bank.Entry `json:"entries"`
			NextCursor string       `json:"next_cursor"`
		}
		r.decode(t, &pg)
		all = append(all, pg.Entries...)
		if pg.NextCursor == "" {
			break
		}
		if len(pg.Entries) != 2 || page > 10 {
			t.Fatalf("page %d: %d entries", page, len(pg.Entries))
		}
		cursor = pg.NextCursor
	}
	// deposit, rent, overdraft transfer, deposit, capture = 5 entries.
	if len(all) != 5 {
		t.Fatalf("%d entries, want 5: %+v", len(all), all)
	}
	var sum int64
	for i, en := range all {
		sum += en.Amount
		if i > 0 && en.ID >= all[i-1].ID && en.Time.After(all[i-1].Time) {
			t.Fatalf("entries not newest first: %+v", all)
		}
	}
	if sum != e.account(t, chk.Number).Balance || all[0].BalanceAfter != 125_00 || all[0].HoldID != h.ID || all[4].Amount != 100_00 {
		t.Fatalf("journal sum %d / entries %+v", sum, all)
	}
	if all[3].Description != "Rent — März ☕" || all[3].Counterparty != bobs.Number || all[3].TransferID != tr.ID || all[3].Amount != -30_00 {
		t.Fatalf("rent entry %+v", all[3])
	}
	future := url(time.Now().Add(time.Hour))
	r = e.do(t, req{Method: "GET", Path: "/v1/accounts/" + chk.Number + "/entries?from=" + future, Token: alice})
	want(t, r, 200, "")
	if !strings.Contains(string(r.Body), `"entries":[]`) {
		t.Fatalf("future window not empty: %s", r.Body)
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/accounts/" + chk.Number + "/entries?to=" + future + "&from=" + url(time.Now().Add(-time.Hour)), Token: alice})
	want(t, r, 200, "")
	if strings.Count(string(r.Body), `"balance_after"`) != 5 {
		t.Fatalf("time window: %s", r.Body)
	}

	r = e.do(t, req{Method: "GET", Path: "/v1/accounts", Token: alice})
	want(t, r, 200, "")
	if !strings.Contains(string(r.Body), chk.Number) || !strings.Contains(string(r.Body), sav.Number) || strings.Contains(string(r.Body), bobs.Number) {
		t.Fatalf("accounts list: %s", r.Body)
	}

	// Teller: withdrawal, customer search, freeze; admin: unfreeze, close.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/teller/withdrawals", Token: teller, Key: newKey(),
		Body: map[string]any{"account": bobs.Number, "amount": 5_00, "currency": "EUR"}}), 201, "")
	r = e.do(t, req{Method: "GET", Path: "/v1/teller/customers?q=al", Token: teller})
	want(t, r, 200, "")
	if !strings.Contains(string(r.Body), `"username":"alice"`) || !strings.Contains(string(r.Body), sav.Number) || strings.Contains(string(r.Body), `"bob"`) {
		t.Fatalf("search: %s", r.Body)
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/teller/customers?q=t", Token: teller})
	want(t, r, 200, "")
	if string(r.Body) != "{\"customers\":[]}\n" {
		t.Fatalf("search t found staff: %s", r.Body)
	}
	r = e.do(t, req{Method: "GET", Path: "/v1/teller/customers?q=" + bobs.Number, Token: teller})
	want(t, r, 200, "")
	if !strings.Contains(string(r.Body), `"username":"bob"`) {
		t.Fatalf("search by number: %s", r.Body)
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + chk.Number + "/freeze", Token: teller}), 200, "")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(),
		Body: map[string]any{"from": chk.Number, "to": bobs.Number, "amount": 1, "currency": "EUR"}}), 422, "account_frozen")
	// A frozen account still receives.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: bob, Key: newKey(),
		Body: map[string]any{"from": bobs.Number, "to": chk.Number, "amount": 1, "currency": "EUR"}}), 201, "")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + chk.Number + "/unfreeze", Token: teller}), 403, "forbidden")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + chk.Number + "/unfreeze", Token: admin}), 200, "")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + chk.Number + "/close", Token: admin}), 422, "account_not_empty")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + sav.Number + "/close", Token: admin}), 422, "account_not_empty")
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(),
		Body: map[string]any{"from": sav.Number, "to": chk.Number, "amount": 120_00, "currency": "EUR"}}), 201, "")
	r = e.do(t, req{Method: "POST", Path: "/v1/admin/accounts/" + sav.Number + "/close", Token: admin})
	want(t, r, 200, "")
	if !strings.Contains(string(r.Body), `"status":"closed"`) {
		t.Fatalf("close: %s", r.Body)
	}
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: alice, Key: newKey(),
		Body: map[string]any{"from": chk.Number, "to": sav.Number, "amount": 1, "currency": "EUR"}}), 422, "account_closed")

	// Logout revokes the token.
	want(t, e.do(t, req{Method: "POST", Path: "/v1/auth/logout", Token: alice}), 204, "")
	r = e.do(t, req{Method: "GET", Path: "/v1/me", Token: alice})
	want(t, r, 401, "unauthorized")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	e.balanced(t)

	// Metrics carry routes (patterns, not raw paths), transfers and pool stats.
	res, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, s := range []string{
		`bank_api_requests_total{code="201",method="POST",route="/v1/transfers"}`,
		`bank_api_request_duration_seconds_bucket{code="200",method="GET",route="/v1/accounts/{number}/entries",le=`,
		`bank_api_postings_total{kind="transfer",outcome="insufficient_funds"} 1`,
		`bank_api_postings_total{kind="capture",outcome="completed"} 1`,
		`bank_api_redis_pool_active_connections`,
	} {
		if !strings.Contains(string(m), s) {
			t.Errorf("metrics lack %s", s)
		}
	}
	if strings.Contains(string(m), chk.Number) {
		t.Error("metrics contain an account number: routes must be patterns")
	}
	t.Logf("%d responses validated against the OpenAPI document", e.checked.Load())
}

func url(t time.Time) string { return strings.ReplaceAll(t.UTC().Format(time.RFC3339), "+", "%2B") }

// TestLoginRateLimitHTTP checks the 429 answer: problem+json with Retry-After.
func TestLoginRateLimitHTTP(t *testing.T) {
	e := newEnv(t, envOpts{limits: &auth.Limits{FailuresPerUser: 3, UserWindow: time.Minute, AttemptsPerAddr: 50, AddrWindow: time.Minute,
		RegisterPerAddr: 50, RegisterWindow: time.Minute}})
	e.user(t, "victim", bank.Customer)
	for i := 0; i < 3; i++ {
		want(t, e.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"username": "victim", "password": fmt.Sprint("guess-", i, "-xx")}}), 401, "invalid_credentials")
	}
	r := e.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"username": "victim", "password": "password-123"}})
	want(t, r, 429, "rate_limited")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// Other users are not affected.
	e.user(t, "bystander", bank.Customer)

	// Per address: a fresh server with a small address limit.
	e2 := newEnv(t, envOpts{limits: &auth.Limits{FailuresPerUser: 100, UserWindow: time.Minute, AttemptsPerAddr: 4, AddrWindow: time.Minute,
		RegisterPerAddr: 50, RegisterWindow: time.Minute}})
	codes := []int{}
	for i := 0; i < 6; i++ {
		r := e2.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"username": fmt.Sprint("spray", i), "password": "password-123"}})
		codes = append(codes, r.Status)
	}
	if fmt.Sprint(codes) != "[401 401 401 401 429 429]" {
		t.Fatalf("per-address limit: %v", codes)
	}
	_ = context.Background
}
