package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/web"
	"github.com/kubebank/kubebank/src/web/webtest"
)

const pw = "correct horse battery"

func sessionKeys(t *testing.T, st *webtest.Stack) []string {
	t.Helper()
	c := st.Pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", web.SessionKeyPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestSignupLoginLogout(t *testing.T) {
	st := webtest.Start(t, webtest.Options{SessionTTL: 30 * time.Minute})
	b := newBrowser(t, st)

	mustContain(t, b.get("/login"), `<label for="username">Username</label>`, `type="password"`)
	r := b.get("/dashboard")
	mustStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login?") || !strings.Contains(loc, "next=%2Fdashboard") {
		t.Fatalf("anonymous dashboard redirects to %q", loc)
	}

	// Bad input keeps the username and says what is wrong.
	r = b.post("/signup", url.Values{"username": {"alice"}, "password": {pw}, "confirm": {pw + "x"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "The two passwords do not match.", `value="alice"`)
	r = b.post("/signup", url.Values{"username": {"alice"}, "password": {"short"}, "confirm": {"short"}})
	if r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Fatalf("short password accepted: %d", r.StatusCode)
	}
	mustContain(t, r, `role="alert"`)

	// Sign up logs straight in, with a hardened cookie and a Redis session.
	r = b.post("/signup", url.Values{"username": {"alice"}, "password": {pw}, "confirm": {pw}})
	mustStatus(t, r, http.StatusSeeOther)
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == web.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.MaxAge <= 0 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, an expiry, not Secure without --secure-cookies", cookie)
	}
	if strings.Contains(cookie.Value, "bank") || len(cookie.Value) < 40 {
		t.Fatalf("cookie value %q does not look like a random id", cookie.Value)
	}
	keys := sessionKeys(t, st)
	if len(keys) != 1 {
		t.Fatalf("sessions in redis: %v", keys)
	}
	c := st.Pool.Get()
	ttl, _ := redis.Int64(c.Do("PTTL", keys[0]))
	c.Close()
	if ttl <= 0 || ttl > (30*time.Minute).Milliseconds() {
		t.Fatalf("session TTL %dms, want within (0, 30m]", ttl)
	}
	d := b.follow(r)
	mustStatus(t, d, http.StatusOK)
	mustContain(t, d, "You have no accounts yet", "alice")
	if d.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("dashboard Cache-Control %q, want no-store", d.Header.Get("Cache-Control"))
	}

	// The session's API token works until logout revokes it.
	sess, err := st.Sessions.Get(context.Background(), cookie.Value)
	if err != nil || sess == nil || sess.Username != "alice" || sess.Role != bank.Customer {
		t.Fatalf("session %+v, %v", sess, err)
	}
	r = b.post("/logout", nil)
	mustStatus(t, r, http.StatusSeeOther)
	mustContain(t, b.follow(r), "You have been logged out.")
	if keys := sessionKeys(t, st); len(keys) != 0 {
		t.Fatalf("session survived logout: %v", keys)
	}
	if _, err := st.Client.Me(context.Background(), sess.Token); !apiclient.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("API token after logout: %v, want 401", err)
	}
	mustStatus(t, b.get("/dashboard"), http.StatusSeeOther)

	// Logging in again; wrong passwords get a clear message.
	r = b.post("/login", url.Values{"username": {"alice"}, "password": {"wrong password"}})
	mustStatus(t, r, http.StatusUnauthorized)
	mustContain(t, r, "The username or password is not correct.", `value="alice"`)
	r = b.post("/login", url.Values{"username": {""}, "password": {""}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	r = b.post("/login", url.Values{"username": {"alice"}, "password": {pw}, "next": {"/transfer"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/transfer" {
		t.Fatalf("login with next: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Logging in again in the same browser replaces the session.
	b.login("alice", pw)
	if keys := sessionKeys(t, st); len(keys) != 1 {
		t.Fatalf("sessions after a second login in one browser: %d, want 1", len(keys))
	}
	// An open redirect through ?next= is refused.
	b2 := newBrowser(t, st)
	r = b2.post("/login", url.Values{"username": {"alice"}, "password": {pw}, "next": {"//evil.example/x"}})
	if r.Header.Get("Location") != "/dashboard" {
		t.Fatalf("next=//evil.example redirected to %q", r.Header.Get("Location"))
	}
}

func TestExpiredSessions(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	b.signup("bob", pw)
	mustStatus(t, b.get("/dashboard"), http.StatusOK)

	// Redis expired the session (simulated by removing it).
	c := st.Pool.Get()
	for _, k := range sessionKeys(t, st) {
		c.Do("DEL", k)
	}
	c.Close()
	r := b.get("/dashboard")
	mustStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "expired=1") {
		t.Fatalf("expired session redirects to %q", loc)
	}
	mustContain(t, b.follow(r), "Your session has expired")
	// A form post with an expired session moves nothing and asks to log in.
	r = b.post("/transfer/confirm", url.Values{"from": {"1000000018"}})
	mustStatus(t, r, http.StatusSeeOther)

	// The API token expired or was revoked behind the session's back.
	b.login("bob", pw)
	sess := mustSession(t, st)
	if err := st.Client.Logout(context.Background(), sess.Token); err != nil {
		t.Fatal(err)
	}
	r = b.get("/dashboard")
	mustStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "expired=1") {
		t.Fatalf("revoked token redirects to %q", loc)
	}
	if keys := sessionKeys(t, st); len(keys) != 0 {
		t.Fatalf("session with a dead token was kept: %v", keys)
	}

	// A real Redis expiry: a store with a 1s TTL.
	short := web.NewSessions(st.Pool, time.Second)
	s := &web.Session{Token: "t", Username: "bob"}
	if err := short.Create(context.Background(), s, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := short.Get(context.Background(), s.ID); got == nil {
		t.Fatal("fresh session not found")
	}
	time.Sleep(1100 * time.Millisecond)
	if got, _ := short.Get(context.Background(), s.ID); got != nil {
		t.Fatal("session outlived its TTL")
	}
}

func mustSession(t *testing.T, st *webtest.Stack) *web.Session {
	t.Helper()
	keys := sessionKeys(t, st)
	if len(keys) != 1 {
		t.Fatalf("want one session, have %v", keys)
	}
	// The key is a hash of the cookie; read the stored token directly.
	c := st.Pool.Get()
	defer c.Close()
	raw, err := redis.Bytes(c.Do("GET", keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	var s web.Session
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestDashboardFormatsEveryCurrency(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	_, teller := st.CreateUser(t, "tina", pw, bank.Teller)
	b := newBrowser(t, st)
	b.signup("carol", pw)
	sess := mustSession(t, st)
	eur := st.OpenAccount(t, sess.Token, "EUR")
	jpy := st.OpenAccount(t, sess.Token, "JPY")
	bhd := st.OpenAccount(t, sess.Token, "BHD")
	st.Deposit(t, teller, eur.Number, 123456789, "EUR")
	st.Deposit(t, teller, jpy.Number, 1500, "JPY")
	st.Deposit(t, teller, bhd.Number, 12345, "BHD")
	if _, err := st.Client.SetStatus(context.Background(), teller, jpy.Number, "freeze"); err != nil {
		t.Fatal(err)
	}
	r := b.get("/dashboard")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "1,234,567.89 EUR", "1,500 JPY", "12.345 BHD",
		`<span class="badge badge-frozen">frozen</span>`, `<span class="badge badge-active">active</span>`,
		"Total EUR", `href="/accounts/`+eur.Number+`"`)
	if strings.Contains(r.body, "1500.00") || strings.Contains(r.body, "12.35") {
		t.Error("an amount was formatted with the wrong exponent")
	}
}

func TestOpenAccountForm(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	b.signup("dave", pw)
	r := b.post("/accounts", url.Values{"type": {"checking"}, "currency": {"XXX"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "Choose one of the listed currencies.")
	r = b.post("/accounts", url.Values{"type": {"loan"}, "currency": {"EUR"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	r = b.post("/accounts", url.Values{"type": {"savings"}, "currency": {"GBP"}, "name": {"Rainy day"}})
	mustStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/accounts/") {
		t.Fatalf("open account redirects to %q", loc)
	}
	p := b.follow(r)
	mustContain(t, p, "Rainy day", "is open.", "0.00 GBP", "No postings")
	// The flash shows once.
	if strings.Contains(b.get(loc).body, "is open.") {
		t.Error("flash message shown twice")
	}
}

func TestStaticAndProbes(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	r := b.get("/static/style.css")
	mustStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("stylesheet Content-Type %q", ct)
	}
	mustContain(t, r, ":focus-visible")
	// The app's port is public: only a plain /healthz there; readiness
	// (which calls the API and Redis) and metrics are on the ops listener.
	mustStatus(t, b.get("/healthz"), http.StatusOK)
	mustStatus(t, b.get("/readyz"), http.StatusNotFound)
	mustStatus(t, b.get("/metrics"), http.StatusNotFound)
	ops := newBrowser(t, st)
	ops.base = st.Ops.URL
	mustStatus(t, ops.get("/healthz"), http.StatusOK)
	mustStatus(t, ops.get("/readyz"), http.StatusOK)
	b.get("/login")
	m := ops.get("/metrics")
	mustStatus(t, m, http.StatusOK)
	mustContain(t, m, `bank_web_request_duration_seconds_count{code="200",method="GET",route="GET /login"}`)
	mustStatus(t, b.get("/no/such/page"), http.StatusNotFound)
	if csp := b.get("/login").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// /readyz fails once the API is gone.
	st.API.Close()
	r = ops.get("/readyz")
	mustStatus(t, r, http.StatusServiceUnavailable)
	mustContain(t, r, `"api"`)
}

// Every page and form that needs a login sends a browser without a live
// session to the login page, and a POST changes nothing.
func TestEveryProtectedRouteNeedsALiveSession(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	b.signup("nina", pw)
	number := st.OpenAccount(t, mustSession(t, st).Token, "EUR").Number
	u, _ := url.Parse(st.Web.URL)
	cookies := b.c.Jar.Cookies(u)
	c := st.Pool.Get()
	for _, k := range sessionKeys(t, st) {
		c.Do("DEL", k) // the session expired in Redis; the browser still has the cookie
	}
	c.Close()
	anon := newBrowser(t, st)
	routes := []struct{ method, path string }{
		{"GET", "/dashboard"}, {"POST", "/accounts"}, {"GET", "/accounts/" + number},
		{"GET", "/accounts/" + number + "/statements/2026-01.csv"},
		{"GET", "/transfer"}, {"POST", "/transfer"}, {"POST", "/transfer/confirm"},
		{"GET", "/standing-orders"}, {"POST", "/standing-orders"}, {"POST", "/standing-orders/so_x/cancel"},
		{"GET", "/teller"}, {"GET", "/teller/accounts/" + number}, {"POST", "/teller/accounts/" + number + "/cash"},
		{"POST", "/teller/accounts/" + number + "/status"}, {"GET", "/teller/operations"},
	}
	for _, rt := range routes {
		for _, who := range []struct {
			name    string
			br      *browser
			expired bool
		}{{"expired", b, true}, {"anonymous", anon, false}} {
			// The first answer clears a dead cookie; put it back each time.
			who.br.c.Jar.SetCookies(u, nil)
			if who.expired {
				who.br.c.Jar.SetCookies(u, cookies)
			}
			var r resp
			if rt.method == "GET" {
				r = who.br.get(rt.path)
			} else {
				r = who.br.post(rt.path, url.Values{"amount": {"1"}, "kind": {"deposit"}, "action": {"close"}, "idempotency_key": {"k"}})
			}
			loc := r.Header.Get("Location")
			if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("%s %s (%s): %d → %q, want 303 to /login", rt.method, rt.path, who.name, r.StatusCode, loc)
			}
			if who.expired != strings.Contains(loc, "expired=1") {
				t.Errorf("%s %s (%s): redirect %q says expired=%v", rt.method, rt.path, who.name, loc, !who.expired)
			}
		}
	}
	if a, _ := st.Ledger.Account(context.Background(), number); a.Status != bank.Active || a.Balance != 0 {
		t.Fatalf("account changed by requests without a session: %+v", a)
	}
}

// Staff start at the teller console, and the empty customer dashboard
// ("You have no accounts yet") is not shown to staff without accounts; a
// next= page still wins.
func TestStaffLandOnTheTellerConsole(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	st.CreateUser(t, "tina", pw, bank.Teller)
	b := newBrowser(t, st)
	b.staffLogin("tina", pw)
	r := b.get("/")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/teller" {
		t.Fatalf("home for staff: %d %s, want a 303 to /teller", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.get("/dashboard")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/teller" {
		t.Fatalf("dashboard for staff without accounts: %d %s, want a 303 to /teller", r.StatusCode, r.Header.Get("Location"))
	}
	mustContain(t, b.follow(r), `role="search"`)

	b2 := newBrowser(t, st)
	r = b2.post("/login", url.Values{"username": {"tina"}, "password": {pw}, "next": {"/teller/operations"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/teller/operations" {
		t.Fatalf("login with next: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// One request id follows a request from the browser through the web app to
// the API: the web app keeps a valid incoming X-Request-ID, answers with
// it and sends it on, and both processes' access lines carry it with the
// same field names.
func TestRequestIDEndToEnd(t *testing.T) {
	recs := newRecords()
	st := webtest.Start(t, webtest.Options{Log: slog.New(recs)})
	st.CreateUser(t, "rita", pw, bank.Customer)
	b := newBrowser(t, st)
	r := b.post("/login", url.Values{"username": {"rita"}, "password": {pw}}, "X-Request-ID", "e2e-req-1")
	if got := r.Header.Get("X-Request-ID"); got != "e2e-req-1" {
		t.Fatalf("web answered X-Request-ID %q, want e2e-req-1", got)
	}
	routes := map[string]bool{}
	for _, rec := range recs.list() {
		if rec["msg"] != "request" || rec["request_id"] != "e2e-req-1" {
			continue
		}
		for _, f := range []string{"method", "route", "status", "duration_ms"} {
			if _, ok := rec[f]; !ok {
				t.Errorf("access line lacks %s: %v", f, rec)
			}
		}
		routes[fmt.Sprint(rec["route"])] = true
	}
	if !routes["POST /login"] || !routes["/v1/auth/login"] {
		t.Fatalf("access lines with the request id name routes %v, want the web app's POST /login and the API's /v1/auth/login", routes)
	}
	// Without an incoming id the web app makes one; one that could break a
	// log line is replaced, not echoed.
	if id := b.get("/login").Header.Get("X-Request-ID"); id == "" {
		t.Fatal("no X-Request-ID on a response")
	}
	r = b.post("/login", url.Values{"username": {"rita"}, "password": {"wrong"}}, "X-Request-ID", `x" injected="1`)
	if id := r.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, `"`) {
		t.Fatalf("hostile X-Request-ID answered as %q", id)
	}
}

// records keeps every log record of both servers as a map, for tests
// that read log fields.
type records struct {
	mu   *sync.Mutex
	all  *[]map[string]any
	with []slog.Attr
}

func newRecords() records { return records{mu: &sync.Mutex{}, all: &[]map[string]any{}} }

func (h records) Enabled(context.Context, slog.Level) bool { return true }

func (h records) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message}
	for _, a := range h.with {
		m[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.all = append(*h.all, m)
	return nil
}

func (h records) WithAttrs(as []slog.Attr) slog.Handler {
	h.with = append(slices.Clip(h.with), as...)
	return h
}

func (h records) WithGroup(string) slog.Handler { return h }

func (h records) list() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*h.all)
}
