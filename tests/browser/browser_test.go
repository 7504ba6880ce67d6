// Package browser drives the web app with a real headless Chromium against
// the real stack (redis-server, the API and the web app, started by the
// test): what a customer and a teller do, a double click on "Send money",
// a forged cross-site form, and a customer editing the URL to look at
// someone else's account.
package browser

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/web/webtest"
)

const chromiumPath = "/usr/bin/chromium"

// outDir is test-output/ at the repository root (gitignored).
var outDir = filepath.Join("..", "..", "test-output")

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			t.Fatalf("Chromium is required for the browser test and was not found at %s or on PATH: run `make deps-browser` (or apt-get install chromium)", chromiumPath)
		}
		path = p
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// step runs actions and fails the test with a screenshot on error.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		shot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

func shot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(outDir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		shot(t, ctx, "failed-text")
		t.Fatalf("reading %s: %v", css, err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// submit clicks a button that navigates and returns the status of the
// page it leads to.
func submit(t *testing.T, ctx context.Context, css string) int64 {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		shot(t, ctx, "failed-submit")
		t.Fatalf("clicking %s: %v", css, err)
	}
	return resp.Status
}

func fill(fields ...string) []chromedp.Action[chromedp.Void] {
	var out []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		out = append(out, chromedp.SetValue(chromedp.CSS(fields[i]), fields[i+1]))
	}
	return out
}

func TestCustomerAndTellerInTheBrowser(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	// The real web app, reached through a server that holds back the
	// answer to "Send money" for a moment, as a slow network would: the
	// page is still there for the second click of a double click, so the
	// browser really sends the form twice.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.WebApp.ServeHTTP(w, r) // the 303 stays buffered until we return
		if r.Method == http.MethodPost && r.URL.Path == "/transfer/confirm" {
			time.Sleep(400 * time.Millisecond)
		}
	}))
	defer slow.Close()
	base := slow.URL
	// An admin at the till: it also sees the operations page (tellers may not).
	_, tellerTok := st.CreateUser(t, "teller", "teller password", bank.Admin)
	// A payee: another customer with an EUR account.
	_, payeeTok := st.CreateUser(t, "paula", "paula password", bank.Customer)
	payee := st.OpenAccount(t, payeeTok, "EUR").Number

	ctx := newBrowser(t)
	started := time.Now()

	// Sign up.
	step(t, ctx, "open signup", chromedp.Navigate(base+"/signup"))
	checkPage(t, ctx, "signup")
	step(t, ctx, "fill signup", fill("#username", "alice", "#password", "alice password", "#confirm", "alice password")...)
	if code := submit(t, ctx, `button[type="submit"]`); code != http.StatusOK {
		t.Fatalf("signup landed on status %d", code)
	}
	if l := location(t, ctx); !strings.HasSuffix(l, "/dashboard") {
		t.Fatalf("after signup at %s", l)
	}

	// Open an account from the dashboard.
	step(t, ctx, "fill open account", fill("#type", "checking", "#currency", "EUR", "#name", "Everyday")...)
	submit(t, ctx, `form[action="/accounts"] button`)
	m := regexp.MustCompile(`/accounts/(\d{10})$`).FindStringSubmatch(location(t, ctx))
	if m == nil {
		t.Fatalf("after opening an account at %s", location(t, ctx))
	}
	number := m[1]
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "is open") {
		t.Fatalf("flash %q", s)
	}

	// The teller finds the customer and deposits cash.
	step(t, ctx, "log out customer", chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	step(t, ctx, "teller login", fill("#username", "teller", "#password", "teller password")...)
	submit(t, ctx, `form[action="/login"] button`)
	// Staff land on the teller console, not on a customer dashboard.
	if l := location(t, ctx); !strings.HasSuffix(l, "/teller") {
		t.Fatalf("a teller landed on %s, want /teller", l)
	}
	step(t, ctx, "teller search", chromedp.Navigate(base+"/teller"), chromedp.SetValue(chromedp.CSS("#q"), "ali"))
	submit(t, ctx, `form[role="search"] button`)
	checkPage(t, ctx, "teller-search")
	submit(t, ctx, `a[href="/teller/accounts/`+number+`"]`)
	step(t, ctx, "fill deposit", fill("#deposit-amount", "250.00", "#deposit-desc", "cash at the counter")...)
	submit(t, ctx, "#deposit-submit")
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "Deposited 250.00 EUR") {
		t.Fatalf("deposit flash %q", s)
	}
	shot(t, ctx, "teller-account")
	checkPage(t, ctx, "teller-account")
	// Closing asks first: the confirmation page, then "Keep it open".
	submit(t, ctx, `button[value="close"]`)
	checkPage(t, ctx, "close-confirm")
	submit(t, ctx, `a.button.secondary`)
	// A reversal asked for from the postings, then waiting on the start
	// page (this admin sees the requests; another admin decides).
	submit(t, ctx, `a[href^="/teller/reversals/new"]`)
	checkPage(t, ctx, "reversal-form")
	step(t, ctx, "fill reversal", fill("#amount", "1.00", "#reason", "test of the console")...)
	submit(t, ctx, `form[action="/teller/reversals"] button[type="submit"]`)
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "Reversal of 1.00 EUR requested") {
		t.Fatalf("reversal flash %q", s)
	}
	step(t, ctx, "teller start", chromedp.Navigate(base+"/teller"))
	if s := text(t, ctx, "#pending-h"); !strings.Contains(s, "waiting for approval") {
		t.Fatalf("pending reversals heading %q", s)
	}
	checkPage(t, ctx, "teller-start")
	step(t, ctx, "operations", chromedp.Navigate(base+"/teller/operations"))
	if h := text(t, ctx, "h1"); !strings.Contains(h, "Operations") {
		t.Fatalf("operations page heading %q", h)
	}
	shot(t, ctx, "operations")
	checkPage(t, ctx, "operations")
	// The audit trail shows the deposit this admin just took.
	step(t, ctx, "audit", chromedp.Navigate(base+"/teller/audit"))
	if s := text(t, ctx, "#audit tbody"); !strings.Contains(s, "cash.deposit") || !strings.Contains(s, "teller") {
		t.Fatalf("the audit page does not show the deposit: %q", s)
	}
	shot(t, ctx, "audit")
	checkPage(t, ctx, "audit")
	if got := st.Balance(t, number); got != 25_000 {
		t.Fatalf("balance after deposit %d, want 25000", got)
	}
	step(t, ctx, "log out teller", chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	checkPage(t, ctx, "login")

	// The customer transfers 42.50 EUR and double-clicks "Send money".
	step(t, ctx, "customer login", fill("#username", "alice", "#password", "alice password")...)
	submit(t, ctx, `form[action="/login"] button`)
	step(t, ctx, "transfer form", chromedp.Navigate(base+"/transfer?from="+number))
	step(t, ctx, "fill transfer", fill("#to", payee, "#amount", "42.5", "#description", "Dinner")...)
	shot(t, ctx, "transfer-form")
	checkPage(t, ctx, "transfer-form")
	submit(t, ctx, `form[action="/transfer"] button`)
	if s := text(t, ctx, "#confirm-amount"); s != "42.50 EUR" {
		t.Fatalf("confirmation shows %q", s)
	}
	checkPage(t, ctx, "transfer-confirm")
	confirmsBefore := postCount(t, st.Ops.URL, "POST /transfer/confirm")
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector('#send').getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`))
	if err != nil || len(xy) != 2 {
		t.Fatalf("locating the send button: %v %v", xy, err)
	}
	// A real double click: two press/release pairs 120 ms apart, the
	// second with click count 2.
	step(t, ctx, "double click send",
		chromedp.MouseClickXY(xy[0], xy[1]),
		chromedp.Sleep(120*time.Millisecond),
		chromedp.MouseClickXY(xy[0], xy[1], chromedp.ClickCount(2)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	time.Sleep(500 * time.Millisecond) // let both submits finish
	posts := postCount(t, st.Ops.URL, "POST /transfer/confirm") - confirmsBefore
	t.Logf("the double click sent %d confirm requests", posts)
	if posts < 2 {
		t.Fatalf("the double click sent %d confirm request(s); the test needs two to show the money moves once", posts)
	}
	if got := st.Balance(t, number); got != 25_000-4_250 {
		t.Fatalf("balance after double click %d, want %d: money moved more than once", got, 25_000-4_250)
	}
	if got := st.Balance(t, payee); got != 4_250 {
		t.Fatalf("payee balance %d, want 4250", got)
	}

	// History and chart show the money movements.
	step(t, ctx, "account page", chromedp.Navigate(base+"/accounts/"+number))
	if s := text(t, ctx, "#balance"); s != "207.50 EUR" {
		t.Fatalf("balance shows %q", s)
	}
	hist := text(t, ctx, "table.history")
	if !strings.Contains(hist, "Cash deposit") || strings.Contains(hist, "9197 800 007") {
		t.Fatalf("the till is not named in the history:\n%s", hist)
	}
	if !strings.Contains(hist, "−42.50 EUR") || !strings.Contains(hist, "Dinner") || !strings.Contains(hist, "250.00 EUR") {
		t.Fatalf("history table:\n%s", hist)
	}
	if n := strings.Count(hist, "−42.50 EUR"); n != 1 {
		t.Fatalf("the transfer appears %d times in the history", n)
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#balance-chart path.line"), "d"))
	// The line steps at each posting that changes the balance and holds
	// until now: one step for the transfer, and one more for the deposit
	// when the account was opened over a second before it (the line then
	// starts at the zero balance it had; otherwise at the deposit).
	if d := attr.Value; err != nil || !strings.HasPrefix(d, "M") || strings.Count(d, "V") < 1 || strings.Count(d, "V") > 2 ||
		strings.Count(d, "V") == 2 && strings.HasPrefix(d, "M4 4 ") {
		t.Fatalf("chart path %q: %v", attr.Value, err)
	}
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('#balance-chart').getBoundingClientRect().width`))
	if err != nil || w < 300 {
		t.Fatalf("chart is not drawn at a useful size (width %v): %v", w, err)
	}
	shot(t, ctx, "account")
	checkPage(t, ctx, "account")

	// The dashboard, for the README, with a second account in another
	// currency (opened and funded through the API to keep the test short).
	login, err := st.Client.Login(context.Background(), "alice", "alice password")
	if err != nil {
		t.Fatal(err)
	}
	savings, err := st.Client.OpenAccount(context.Background(), login.Token, apiclient.OpenAccount{Type: "savings", Currency: "USD", Name: "Holiday"})
	if err != nil {
		t.Fatal(err)
	}
	st.Deposit(t, tellerTok, savings.Number, 123456, "USD")
	step(t, ctx, "dashboard", chromedp.Navigate(base+"/dashboard"))
	if s := text(t, ctx, `[data-account="`+savings.Number+`"][data-field="balance"]`); s != "1,234.56 USD" {
		t.Fatalf("dashboard USD balance %q", s)
	}
	if s := text(t, ctx, `[data-account="`+number+`"][data-field="balance"]`); s != "207.50 EUR" {
		t.Fatalf("dashboard balance %q", s)
	}
	shot(t, ctx, "dashboard")
	checkPage(t, ctx, "dashboard")
	// On a phone the page fits the screen: no sideways scrolling.
	step(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844), chromedp.Reload())
	sw, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil || sw > 390 {
		shot(t, ctx, "dashboard-phone")
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 390).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`))
		t.Logf("elements beyond the right edge: %v", wide)
		t.Fatalf("dashboard on a 390px phone is %v px wide: %v", sw, err)
	}
	shot(t, ctx, "dashboard-phone")
	step(t, ctx, "desktop viewport", chromedp.EmulateViewport(1280, 900))

	// Editing the URL to another customer's account shows "not found".
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/accounts/"+payee))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusNotFound {
		t.Fatalf("another customer's account page: status %d", resp.Status)
	}
	if h := text(t, ctx, "h1"); h != "Not found" {
		t.Fatalf("another customer's account page says %q", h)
	}
	if body := text(t, ctx, "main"); strings.Contains(body, "42.50") {
		t.Fatal("another customer's account page leaks its balance")
	}
	checkPage(t, ctx, "error")

	// A form on another site that posts to the bank is refused. The
	// attacker is on "localhost", the bank on "127.0.0.1": different sites.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form method="post" action="%s/transfer/confirm">
<input type="hidden" name="from" value="%s"><input type="hidden" name="to" value="%s">
<input type="hidden" name="amount" value="100"><input type="hidden" name="idempotency_key" value="evil-1">
<input type="hidden" name="action" value="confirm"><button id="prize">Claim</button></form>`, base, number, payee)
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	step(t, ctx, "attacker page", chromedp.Navigate(evilURL))
	if code := submit(t, ctx, "#prize"); code != http.StatusForbidden {
		t.Fatalf("cross-site form post answered %d, want 403", code)
	}
	if s := text(t, ctx, "main"); !strings.Contains(s, "sent from another website") {
		t.Fatalf("cross-site rejection page: %q", s)
	}
	if got := st.Balance(t, number); got != 20_750 {
		t.Fatalf("cross-site post moved money: balance %d", got)
	}

	keyboardTransfer(t, ctx, base, number, payee)
	if got := st.Balance(t, number); got != 20_750-1_000 {
		t.Fatalf("balance after the keyboard-only transfer %d, want %d", got, 20_750-1_000)
	}
	if got := st.Balance(t, payee); got != 4_250+1_000 {
		t.Fatalf("payee balance after the keyboard-only transfer %d, want %d", got, 4_250+1_000)
	}

	// A standing order, so that the list has a row to check.
	step(t, ctx, "standing orders", chromedp.Navigate(base+"/standing-orders"))
	step(t, ctx, "fill standing order", fill("#to", payee, "#amount", "1234.56", "#description", "Rent")...)
	submit(t, ctx, `form[action="/standing-orders"] button`)
	if s := text(t, ctx, "main table"); !strings.Contains(s, "1,234.56 EUR") || !strings.Contains(s, "Cancel") {
		t.Fatalf("standing orders list: %q", s)
	}
	shot(t, ctx, "standing-orders")
	checkPage(t, ctx, "standing-orders")

	// Log out; the dashboard then asks for a login again.
	step(t, ctx, "dashboard again", chromedp.Navigate(base+"/dashboard"))
	submit(t, ctx, ".logout button")
	if s := text(t, ctx, ".notice"); !strings.Contains(s, "logged out") {
		t.Fatalf("after logout: %q", s)
	}
	step(t, ctx, "dashboard after logout", chromedp.Navigate(base+"/dashboard"))
	if l := location(t, ctx); !strings.Contains(l, "/login") {
		t.Fatalf("dashboard after logout shows %s", l)
	}
	t.Logf("browser walk-through took %v", time.Since(started).Round(time.Millisecond))
	logRenderTimes(t, st.Ops.URL) // /metrics is on the web app's ops listener, not its public port
}

var sampleRe = regexp.MustCompile(`^bank_web_request_duration_seconds_(sum|count)\{code="(\d+)",method="(\w+)",route="([^"]+)"\} (\S+)$`)

// metrics reads the web app's request duration histogram: sum (seconds)
// and count per route and status, from its ops listener at opsURL.
func metrics(t *testing.T, opsURL string) map[string][2]float64 {
	t.Helper()
	resp, err := http.Get(opsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string][2]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		m := sampleRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[5], 64)
		k := m[4] + " " + m[2]
		e := out[k]
		if m[1] == "sum" {
			e[0] += v
		} else {
			e[1] += v
		}
		out[k] = e
	}
	return out
}

func postCount(t *testing.T, opsURL, route string) int {
	t.Helper()
	n := 0
	for k, v := range metrics(t, opsURL) {
		if strings.HasPrefix(k, route+" ") {
			n += int(v[1])
		}
	}
	return n
}

// logRenderTimes prints the server-side time per page (API calls included)
// as measured by the web app's own histogram during this test.
func logRenderTimes(t *testing.T, opsURL string) {
	t.Helper()
	m := metrics(t, opsURL)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := m[k]; v[1] > 0 && strings.HasPrefix(k, "GET /") && !strings.Contains(k, "metrics") {
			t.Logf("server time %-40s n=%-3d avg %.1f ms", k, int(v[1]), 1000*v[0]/v[1])
		}
	}
}

// keyboardTransfer sends 10.00 EUR with the keyboard alone: Tab moves from
// field to field, the values are typed, Enter presses the buttons.
func keyboardTransfer(t *testing.T, ctx context.Context, base, from, to string) {
	t.Helper()
	step(t, ctx, "keyboard: transfer form", chromedp.Navigate(base+"/transfer?from="+from))
	tabTo(t, ctx, "#to")
	typeKeys(t, ctx, to)
	tabTo(t, ctx, "#amount")
	typeKeys(t, ctx, "10")
	tabTo(t, ctx, "#description")
	typeKeys(t, ctx, "By keyboard")
	tabTo(t, ctx, `form[action="/transfer"] button[type="submit"]`)
	step(t, ctx, "keyboard: review", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#send")))
	if s := text(t, ctx, "#confirm-amount"); s != "10.00 EUR" {
		t.Fatalf("keyboard transfer: confirmation shows %q", s)
	}
	tabTo(t, ctx, "#send")
	step(t, ctx, "keyboard: send", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(".flash")))
	time.Sleep(300 * time.Millisecond)
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "10.00 EUR") {
		t.Fatalf("keyboard transfer: flash %q", s)
	}
}
