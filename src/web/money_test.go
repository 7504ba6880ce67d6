package web_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocraft/work"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/jobs"
	"github.com/kubebank/kubebank/src/statements"
	"github.com/kubebank/kubebank/src/web/webtest"
)

// customerWithMoney signs a customer up in b and gives them a funded EUR
// account; it returns the account number and the teller's API token.
func customerWithMoney(t *testing.T, st *webtest.Stack, b *browser, name string, cents int64) (string, string) {
	t.Helper()
	_, teller := st.CreateUser(t, "teller-"+name, pw, bank.Teller)
	b.signup(name, pw)
	a := st.OpenAccount(t, mustSession(t, st).Token, "EUR")
	if cents > 0 {
		st.Deposit(t, teller, a.Number, cents, "EUR")
	}
	return a.Number, teller
}

func TestTransferFlow(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	from, teller := customerWithMoney(t, st, b, "erin", 10_000) // 100.00 EUR

	// A payee in another customer's name, and one in another currency.
	_, otherTok := st.CreateUser(t, "frank", pw, bank.Customer)
	to := st.OpenAccount(t, otherTok, "EUR").Number
	usd := st.OpenAccount(t, otherTok, "USD").Number
	unknown := bank.CustomerAccountNumber(999_999) // valid check digit, never opened

	form := b.get("/transfer?from=" + from)
	mustStatus(t, form, http.StatusOK)
	mustContain(t, form, `<option value="`+from+`" selected>`, "100.00 EUR available", `<label for="amount">Amount</label>`)
	key := idemKeys(t, form.body)[0]

	review := func(to, amount string) resp {
		return b.post("/transfer", url.Values{"from": {from}, "to": {to}, "amount": {amount}, "description": {"rent"}, "idempotency_key": {key}})
	}
	confirm := func(to, amount, key string) resp {
		return b.post("/transfer/confirm", url.Values{"from": {from}, "to": {to}, "amount": {amount}, "description": {"rent"}, "idempotency_key": {key}, "action": {"confirm"}})
	}

	// Specific errors, with every value kept in the form.
	cases := []struct{ to, amount, want string }{
		{to, "12.345", "at most 2 decimal places"},
		{to, "12,50", "only digits and one decimal point"},
		{to, "0", "greater than zero"},
		{to, "", "Enter an amount"},
		{"1234567890", "5", "not a valid account number"},
		{from, "5", "same account"},
	}
	for _, c := range cases {
		r := review(c.to, c.amount)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, c.want, `value="`+c.to+`"`, `value="`+c.amount+`"`, `value="rent"`, `aria-invalid="true"`)
	}
	// Errors only the API knows about come back from the confirm step.
	apiCases := []struct{ to, amount, want string }{
		{unknown, "5", "There is no account with this number"},
		{to, "100.01", "Insufficient funds: 100.01 EUR is more than the 100.00 EUR available"},
		{usd, "5", "different currency"},
	}
	for _, c := range apiCases {
		r := confirm(c.to, c.amount, fmt.Sprintf("k-%s-%s", c.to, c.amount))
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, c.want, `value="`+c.to+`"`, `value="`+c.amount+`"`)
		if strings.Contains(r.body, fmt.Sprintf("k-%s-%s", c.to, c.amount)) {
			t.Errorf("a rejected form kept its idempotency key")
		}
	}

	// Review shows the exact amount; nothing has moved yet.
	r := review(to, "25.5")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "Confirm transfer", "25.50 EUR", `value="`+key+`"`, "Send money")
	if got := st.Balance(t, from); got != 10_000 {
		t.Fatalf("review moved money: balance %d", got)
	}
	// "Change details" goes back to the form with the values.
	r = b.post("/transfer/confirm", url.Values{"from": {from}, "to": {to}, "amount": {"25.5"}, "idempotency_key": {key}, "action": {"edit"}})
	mustContain(t, r, `value="25.5"`, "Review transfer")

	// A double click: two concurrent confirms with the form's key.
	var wg sync.WaitGroup
	results := make([]resp, 3)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = confirm(to, "25.5", key) }()
	}
	wg.Wait()
	for _, res := range results {
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accounts/"+from {
			t.Fatalf("confirm: %d %q: %s", res.StatusCode, res.Header.Get("Location"), snippet(res.body))
		}
	}
	// And a refresh of the confirm POST later on.
	confirm(to, "25.5", key)
	if got := st.Balance(t, from); got != 10_000-2550 {
		t.Fatalf("balance after double submit %d, want %d (money moved more than once)", got, 10_000-2550)
	}
	if got := st.Balance(t, to); got != 2550 {
		t.Fatalf("payee balance %d", got)
	}
	acct := b.get("/accounts/" + from)
	mustContain(t, acct, "Sent 25.50 EUR to", "−25.50 EUR", "rent")

	// The same key with other values is a conflict, not a second transfer.
	r = confirm(to, "1", key)
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "already sent with different values")

	// A frozen account cannot send, and says so.
	if _, err := st.Client.SetStatus(context.Background(), teller, from, "freeze"); err != nil {
		t.Fatal(err)
	}
	r = confirm(to, "1", "after-freeze")
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "The account is frozen")
	if got := st.Balance(t, from); got != 10_000-2550 {
		t.Fatalf("frozen account sent money: %d", got)
	}
}

func TestCrossSiteFormPostIsRejected(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	from, _ := customerWithMoney(t, st, b, "gina", 5_000)
	_, otherTok := st.CreateUser(t, "hank", pw, bank.Customer)
	to := st.OpenAccount(t, otherTok, "EUR").Number
	form := url.Values{"from": {from}, "to": {to}, "amount": {"10"}, "idempotency_key": {"xsite"}, "action": {"confirm"}}

	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
	} {
		r := b.post("/transfer/confirm", form, hdr...)
		mustStatus(t, r, http.StatusForbidden)
		mustContain(t, r, "sent from another website")
	}
	r := b.post("/logout", nil, "Sec-Fetch-Site", "cross-site")
	mustStatus(t, r, http.StatusForbidden)
	if got := st.Balance(t, from); got != 5_000 {
		t.Fatalf("cross-site post moved money: %d", got)
	}
	// The same form from our own origin goes through.
	r = b.post("/transfer/confirm", form, "Sec-Fetch-Site", "same-origin", "Origin", st.Web.URL)
	mustStatus(t, r, http.StatusSeeOther)
	if got := st.Balance(t, from); got != 4_000 {
		t.Fatalf("same-origin post: balance %d", got)
	}
}

var entryRow = regexp.MustCompile(`<tr>\s*<td data-label="Date"><span class="date">\d{4}-\d\d-\d\d \d\d:\d\d UTC</span></td>`)

func TestAccountPage(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	number, teller := customerWithMoney(t, st, b, "ivy", 0)
	for i := 1; i <= 25; i++ {
		st.Deposit(t, teller, number, int64(i*100), "EUR")
	}
	r := b.get("/accounts/" + number)
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "325.00 EUR", `<svg id="balance-chart"`, `role="img"`, "over 25 postings", "Older entries", "No holds")
	// The teller's till is named, not shown as its account number.
	mustContain(t, r, `<td data-label="Counterparty">Cash deposit</td>`)
	if strings.Contains(r.body, "9197 800 007") {
		t.Fatal("the account page shows the till's number instead of its name")
	}
	if n := len(entryRow.FindAllString(r.body, -1)); n != 20 {
		t.Fatalf("first history page has %d rows, want 20", n)
	}
	if !regexp.MustCompile(`<path d="M\d+ \d+( H\d+( V\d+)?)+" class="line"/>`).MatchString(r.body) {
		t.Errorf("chart path missing or not integer coordinates")
	}
	next := regexp.MustCompile(`href="(/accounts/\d+\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(r.body)
	if next == nil {
		t.Fatal("no link to older entries")
	}
	r2 := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	mustStatus(t, r2, http.StatusOK)
	if n := len(entryRow.FindAllString(r2.body, -1)); n != 5 {
		t.Fatalf("second history page has %d rows, want 5", n)
	}
	if strings.Contains(r2.body, `rel="next"`) {
		t.Error("last page links to a next page")
	}

	// Date filter: today has everything, tomorrow nothing; bad dates say so.
	today := time.Now().UTC().Format("2006-01-02")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	r = b.get("/accounts/" + number + "?from=" + today + "&to=" + today)
	if n := len(entryRow.FindAllString(r.body, -1)); n != 20 {
		t.Fatalf("filtered to today: %d rows", n)
	}
	r = b.get("/accounts/" + number + "?from=" + tomorrow)
	mustContain(t, r, "No postings in this period", `value="`+tomorrow+`"`)
	r = b.get("/accounts/" + number + "?from=31.01.2026")
	mustContain(t, r, "Dates must look like")
	r = b.get("/accounts/" + number + "?from=" + tomorrow + "&to=" + today)
	mustContain(t, r, "end date must not be before")
	r = b.get("/accounts/" + number + "?cursor=garbage")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "no longer valid")

	// Statements: none yet, then the monthly job's output, listed and
	// downloadable as CSV.
	if _, err := st.Client.Statements(context.Background(), mustSession(t, st).Token, number); err != nil {
		t.Fatal(err)
	}
	mustContain(t, b.get("/accounts/"+number), "No statements yet")
	// The monthly job's output, built and stored as the worker does.
	month := time.Now().UTC().Format("2006-01")
	// Built as the job does on the 1st: only after the month has ended.
	stmt, err := statements.Build(context.Background(), st.Ledger, number, month, time.UTC, time.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := statements.NewStore(st.Pool).Save(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}
	page := b.get("/accounts/" + number)
	mustContain(t, page, month, "closing 325.00 EUR", "25 postings", `href="/accounts/`+number+`/statements/`+month+`.csv"`)
	csv := b.get("/accounts/" + number + "/statements/" + month + ".csv")
	mustStatus(t, csv, http.StatusOK)
	if ct := csv.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("statement Content-Type %q", ct)
	}
	if cd := csv.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Errorf("statement Content-Disposition %q", cd)
	}
	mustContain(t, csv, "closing_balance,32500", "opening_balance,0")
	mustStatus(t, b.get("/accounts/"+number+"/statements/2001-01.csv"), http.StatusNotFound)
	mustStatus(t, b.get("/accounts/"+number+"/statements/2001-13.csv"), http.StatusNotFound)

	// Another customer's account is simply not found, as is nonsense.
	_, otherTok := st.CreateUser(t, "jack", pw, bank.Customer)
	other := st.OpenAccount(t, otherTok, "EUR").Number
	r = b.get("/accounts/" + other)
	mustStatus(t, r, http.StatusNotFound)
	if strings.Contains(r.body, other[:4]+" "+other[4:7]) {
		t.Error("404 page shows the other account's number")
	}
	mustStatus(t, b.get("/accounts/12"), http.StatusNotFound)
	mustStatus(t, b.get("/accounts/"+other+"/statements/2026-01.csv"), http.StatusNotFound)
}

func TestTellerConsole(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	cust := newBrowser(t, st)
	cust.signup("kate", pw)
	acct := st.OpenAccount(t, mustSession(t, st).Token, "EUR").Number
	mustStatus(t, cust.get("/teller"), http.StatusForbidden)
	mustStatus(t, cust.get("/teller/operations"), http.StatusForbidden)
	r := cust.post("/teller/accounts/"+acct+"/cash", url.Values{"kind": {"deposit"}, "amount": {"100"}, "idempotency_key": {"x"}})
	mustStatus(t, r, http.StatusForbidden)
	if got := st.Balance(t, acct); got != 0 {
		t.Fatalf("customer deposited cash: %d", got)
	}

	st.CreateUser(t, "tom", pw, bank.Teller)
	tb := newBrowser(t, st)
	tb.staffLogin("tom", pw)
	mustContain(t, tb.get("/dashboard"), `href="/teller"`)
	r = tb.get("/teller?q=ka")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "kate", `href="/teller/accounts/`+acct+`"`)
	mustContain(t, tb.get("/teller?q="+acct), "kate")
	mustContain(t, tb.get("/teller?q=nobody"), "No customer or account matches")

	page := tb.get("/teller/accounts/" + acct)
	mustStatus(t, page, http.StatusOK)
	mustContain(t, page, `<dd id="owner"><a href="/teller?q=kate">kate</a></dd>`)
	keys := idemKeys(t, page.body)
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("deposit and withdrawal forms need their own keys: %v", keys)
	}
	cash := func(kind, amount, key string) resp {
		return tb.post("/teller/accounts/"+acct+"/cash", url.Values{"kind": {kind}, "amount": {amount}, "description": {"counter"}, "idempotency_key": {key}})
	}
	r = cash("deposit", "1.234", keys[0])
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "Invalid amount", `value="1.234"`)
	for range 2 { // a double click
		r = cash("deposit", "500.00", keys[0])
		mustStatus(t, r, http.StatusSeeOther)
	}
	mustContain(t, tb.follow(r), "Deposited 500.00 EUR", "500.00 EUR")
	if got := st.Balance(t, acct); got != 50_000 {
		t.Fatalf("balance after double-clicked deposit %d, want 50000", got)
	}
	r = cash("withdrawal", "600", keys[1])
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "Insufficient funds", `value="600"`)
	mustStatus(t, cash("withdrawal", "200", keys[1]+"b"), http.StatusSeeOther)
	if got := st.Balance(t, acct); got != 30_000 {
		t.Fatalf("balance after withdrawal %d", got)
	}
	// The console's start page sums the teller's own day at the till.
	mustContain(t, tb.get("/teller"), "Today at your till", `in <span class="amount">500.00 EUR</span>`,
		`out <span class="amount">200.00 EUR</span>`, `href="/teller/accounts/`+acct+`"`)

	status := func(action string) resp {
		return tb.post("/teller/accounts/"+acct+"/status", url.Values{"action": {action}})
	}
	confirmedClose := func() resp {
		return tb.post("/teller/accounts/"+acct+"/status", url.Values{"action": {"close"}, "confirm": {"yes"}})
	}
	mustStatus(t, status("freeze"), http.StatusSeeOther)
	frozen := tb.get("/teller/accounts/" + acct)
	mustContain(t, frozen, "is now frozen", `badge-frozen`)
	if strings.Contains(frozen.body, `value="unfreeze"`) || strings.Contains(frozen.body, `value="close"`) || strings.Contains(frozen.body, `href="/teller/operations"`) {
		t.Fatal("a teller is offered unfreeze, close or operations, which are for admins")
	}
	// Unfreezing, closing and the operations page are for admins: the
	// API refuses a teller who posts the form anyway, and the page says so.
	mustStatus(t, status("unfreeze"), http.StatusForbidden)
	mustStatus(t, tb.get("/teller/operations"), http.StatusForbidden)
	st.CreateUser(t, "ada", pw, bank.Admin)
	tb = newBrowser(t, st) // the helpers above act as the admin from here on
	tb.staffLogin("ada", pw)
	mustStatus(t, status("unfreeze"), http.StatusSeeOther)
	// Closing asks first, and asking changes nothing.
	r = status("close")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "Yes, close the account", `name="confirm" value="yes"`, "Keep it open")
	mustContain(t, tb.get("/teller/accounts/"+acct), `badge-active`)
	r = confirmedClose()
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "zero balance")
	mustStatus(t, status("explode"), http.StatusBadRequest)
	mustStatus(t, cash("withdrawal", "300", "empty-it"), http.StatusSeeOther)
	mustStatus(t, confirmedClose(), http.StatusSeeOther)
	mustContain(t, cust.get("/dashboard"), `badge-closed`)

	ops := tb.get("/teller/operations")
	mustStatus(t, ops, http.StatusOK)
	mustContain(t, ops, "No reconciliation result is available yet")

	// The worker's reconciliation and a queued job, run for real.
	runner := jobs.New(jobs.Deps{Ledger: st.Ledger, Enqueuer: work.NewEnqueuer(jobs.Namespace, st.Pool)}, jobs.Options{Log: slog.New(slog.DiscardHandler)})
	if _, err := runner.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Enqueue(jobs.HoldExpiry, nil); err != nil {
		t.Fatal(err)
	}
	ops = tb.get("/teller/operations")
	mustContain(t, ops, `<span class="badge badge-active">balanced</span>`, "Sum of all EUR balances", "0.00 EUR",
		`<td class="mono" data-label="Job">`+jobs.HoldExpiry+`</td><td class="num" data-label="Queued">1</td>`)
	mustContain(t, ops, `id="recon-status"`, `<table id="jobs"`)

	// A balance changed behind the ledger's back: the next reconciliation
	// reports it and the page says so, naming the account.
	c := st.Pool.Get()
	if _, err := c.Do("HINCRBY", "bank:acct:"+acct, "balance", 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := runner.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustContain(t, tb.get("/teller/operations"), `<span class="badge badge-closed">mismatch</span>`, "1 account(s) disagree with their journal", acct)
}

// An auditor (read-only staff) gets the teller console to look with: the
// search, an account and the operations page; its forms are refused by
// the API, and nothing moves.
func TestAuditorConsoleIsReadOnly(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	cust := newBrowser(t, st)
	cust.signup("kim", pw)
	acct := st.OpenAccount(t, mustSession(t, st).Token, "EUR").Number
	st.CreateUser(t, "audrey", pw, bank.Auditor)
	ab := newBrowser(t, st)
	ab.staffLogin("audrey", pw)
	mustContain(t, ab.get("/teller?q=ki"), "kim")
	page := ab.get("/teller/accounts/" + acct)
	mustStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, `action="/teller/accounts/`+acct+`/cash"`) || strings.Contains(page.body, `value="freeze"`) {
		t.Fatal("an auditor is offered the cash or status forms")
	}
	mustStatus(t, ab.get("/teller/operations"), http.StatusOK)
	// A form posted anyway is refused by the API.
	r := ab.post("/teller/accounts/"+acct+"/cash", url.Values{"kind": {"deposit"}, "amount": {"100"}, "idempotency_key": {"aud-1"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustStatus(t, ab.post("/teller/accounts/"+acct+"/status", url.Values{"action": {"freeze"}}), http.StatusForbidden)
	if a, err := st.Ledger.Account(context.Background(), acct); err != nil || a.Balance != 0 || a.Status != bank.Active {
		t.Fatalf("an auditor changed the account: %+v %v", a, err)
	}
}

func TestStandingOrdersPage(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	b := newBrowser(t, st)
	from, _ := customerWithMoney(t, st, b, "liz", 1_000)
	r := b.get("/standing-orders")
	mustStatus(t, r, http.StatusOK)
	if _, err := st.Client.StandingOrders(context.Background(), mustSession(t, st).Token); err != nil {
		t.Fatal(err)
	}
	key := idemKeys(t, r.body)[0]
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	r = b.post("/standing-orders", url.Values{"from": {from}, "to": {"123"}, "amount": {"1.001"}, "frequency": {"hourly"}, "first_date": {yesterday}, "idempotency_key": {key}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, "not a valid account number", "decimal places", "Choose how often", "today or later", `value="1.001"`)

	_, otherTok := st.CreateUser(t, "max", pw, bank.Customer)
	to := st.OpenAccount(t, otherTok, "EUR").Number
	next := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
	create := url.Values{"from": {from}, "to": {to}, "amount": {"2.50"}, "frequency": {"weekly"}, "first_date": {next}, "description": {"pocket money"}, "idempotency_key": {key}}
	for range 2 { // double submit: one order
		r = b.post("/standing-orders", create)
		mustStatus(t, r, http.StatusSeeOther)
	}
	list := b.follow(r)
	mustContain(t, list, "Standing order created: 2.50 EUR weekly", "pocket money", next, `badge-active`)
	orders, err := st.Client.StandingOrders(context.Background(), mustSession(t, st).Token)
	if err != nil || len(orders) != 1 {
		t.Fatalf("orders after a double submit: %d (%v), want 1", len(orders), err)
	}
	r = b.post("/standing-orders/"+orders[0].ID+"/cancel", nil)
	mustStatus(t, r, http.StatusSeeOther)
	mustContain(t, b.follow(r), "was cancelled", `badge-cancelled`)
	mustStatus(t, b.post("/standing-orders/"+orders[0].ID+"/cancel", nil), http.StatusUnprocessableEntity)
	if got := st.Balance(t, from); got != 1_000 {
		t.Fatalf("creating a future standing order moved money: %d", got)
	}
}

// Reversals in the console: a teller asks from an account's postings, the
// admin's start page lists the request, and an admin other than the one
// who asked approves it; the money goes back and both histories show it.
func TestReversalInTheConsole(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	cust := newBrowser(t, st)
	acct, _ := customerWithMoney(t, st, cust, "rosa", 10_000)
	// A posting to reverse: a deposit by a teller.
	st.CreateUser(t, "tilly", pw, bank.Teller)
	tb := newBrowser(t, st)
	tb.staffLogin("tilly", pw)
	keys := idemKeys(t, tb.get("/teller/accounts/"+acct).body)
	mustStatus(t, tb.post("/teller/accounts/"+acct+"/cash", url.Values{"kind": {"deposit"}, "amount": {"30.00"}, "idempotency_key": {keys[0]}}), http.StatusSeeOther)
	page := tb.get("/teller/accounts/" + acct)
	link := regexp.MustCompile(`href="(/teller/reversals/new\?account=\d+&amp;transfer=tr_[0-9a-f_-]+)"`).FindStringSubmatch(page.body)
	if link == nil {
		t.Fatalf("no Reverse link on the account page:\n%s", page.body)
	}
	form := tb.get(strings.ReplaceAll(link[1], "&amp;", "&"))
	mustStatus(t, form, http.StatusOK)
	tr := regexp.MustCompile(`name="transfer_id" value="(tr_[0-9a-f_-]+)"`).FindStringSubmatch(form.body)
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(form.body)
	if tr == nil || key == nil {
		t.Fatalf("reversal form lacks its fields:\n%s", form.body)
	}
	r := tb.post("/teller/reversals", url.Values{"account": {acct}, "transfer_id": {tr[1]}, "amount": {"12.50"}, "reason": {"counted twice"}, "idempotency_key": {key[1]}})
	mustStatus(t, r, http.StatusSeeOther)
	mustContain(t, tb.follow(r), "Reversal of 12.50 EUR requested")
	if got := st.Balance(t, acct); got != 13_000 {
		t.Fatalf("a request moved money: balance %d", got)
	}

	st.CreateUser(t, "ada", pw, bank.Admin)
	ab := newBrowser(t, st)
	ab.staffLogin("ada", pw)
	start := ab.get("/teller")
	mustContain(t, start, "Reversals waiting for approval", "counted twice", "12.50 EUR")
	id := regexp.MustCompile(`action="/teller/reversals/(rv_[0-9a-f]+)/decision"`).FindStringSubmatch(start.body)
	if id == nil {
		t.Fatal("no decision form for the pending reversal")
	}
	r = ab.post("/teller/reversals/"+id[1]+"/decision", url.Values{"decision": {"approve"}, "idempotency_key": {"approve-" + id[1]}})
	mustStatus(t, r, http.StatusSeeOther)
	mustContain(t, ab.follow(r), "Reversal of 12.50 EUR approved")
	if got := st.Balance(t, acct); got != 11_750 {
		t.Fatalf("balance after the reversal %d, want 11750", got)
	}
	mustContain(t, cust.get("/accounts/"+acct), "−12.50 EUR")
	if strings.Contains(ab.get("/teller").body, "Reversals waiting for approval") {
		t.Fatal("the approved reversal is still listed as waiting")
	}
}

// The audit page: admins and auditors read the trail and filter it by
// actor, account and day, a page at a time; tellers and customers do not
// see it.
func TestAuditPage(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	cust := newBrowser(t, st)
	cust.signup("kim", pw)
	acct := st.OpenAccount(t, mustSession(t, st).Token, "EUR").Number
	_, tellerTok := st.CreateUser(t, "tess", pw, bank.Teller)
	const pageSize = 50 // the page's size (web.auditPageSize)
	for i := range pageSize + 3 {
		if _, err := st.Client.Deposit(context.Background(), tellerTok, fmt.Sprintf("aud-%d", i), apiclient.CashRequest{Account: acct, Amount: 100, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
	}
	st.CreateUser(t, "audrey", pw, bank.Auditor)
	ab := newBrowser(t, st)
	ab.staffLogin("audrey", pw)
	r := ab.get("/teller/audit")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "cash.deposit", "tess", "amount=100", `rel="next"`, `href="/teller/audit"`)
	if n := strings.Count(r.body, "<tr>") - 1; n != pageSize {
		t.Errorf("first page has %d entries, want %d", n, pageSize)
	}
	older := regexp.MustCompile(`href="(/teller/audit\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(r.body)
	if older == nil {
		t.Fatal("no link to older entries")
	}
	r = ab.get(html.UnescapeString(older[1]))
	mustStatus(t, r, http.StatusOK)
	if n := strings.Count(r.body, "<tr>") - 1; n != 3 {
		t.Errorf("second page has %d entries, want 3", n)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	r = ab.get("/teller/audit?account=" + acct + "&from=" + today + "&to=" + today)
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "cash.deposit")
	r = ab.get("/teller/audit?from=" + time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly))
	mustContain(t, r, "No entries match.")
	mustStatus(t, ab.get("/teller/audit?from=yesterday"), http.StatusBadRequest)

	tb := newBrowser(t, st)
	tb.staffLogin("tess", pw)
	mustStatus(t, tb.get("/teller/audit"), http.StatusForbidden)
	if strings.Contains(tb.get("/teller").body, `href="/teller/audit"`) {
		t.Error("a teller is offered the audit page")
	}
	mustStatus(t, cust.get("/teller/audit"), http.StatusForbidden)
}
