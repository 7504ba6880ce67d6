// Package apiclient is the Go client of the bank's HTTP API
// (docs/api.md, src/api/openapi.yaml). The web app uses it so that every money rule
// stays in the API; tests and tools may reuse it. Every call takes the
// caller's bearer token explicitly: the client itself holds no identity.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/requestid"
)

// Client talks to one API base URL, e.g. http://api:8000.
type Client struct {
	base string
	http *http.Client
}

// New returns a client for baseURL. A nil httpClient gets one with a
// timeout, so that a hung API cannot hang a page forever.
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: httpClient}
}

// FieldError is one entry of a validation problem's "errors" list.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem+json answer, or a synthetic one for a
// non-problem error status. Code is the API's stable machine-readable code.
type Problem struct {
	Type       string       `json:"type"`
	Title      string       `json:"title"`
	Status     int          `json:"status"`
	Detail     string       `json:"detail"`
	Code       string       `json:"code"`
	Errors     []FieldError `json:"errors,omitempty"`
	RetryAfter string       `json:"-"`
}

func (p *Problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	return fmt.Sprintf("api: %d %s: %s", p.Status, p.Code, msg)
}

// AsProblem returns the API problem inside err, if there is one.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// IsStatus reports whether err is an API problem with HTTP status code.
func IsStatus(err error, code int) bool {
	p, ok := AsProblem(err)
	return ok && p.Status == code
}

// Account is an API account: the domain account plus the currency's
// exponent, which the API sends so that clients need no currency table.
type Account struct {
	bank.Account
	Exponent int `json:"exponent"`
}

// CurrencyInfo returns the account currency with the exponent the API sent.
func (a Account) CurrencyInfo() bank.Currency {
	if c, err := bank.LookupCurrency(a.Account.Currency); err == nil {
		return c
	}
	return bank.Currency{Code: a.Account.Currency, Exponent: a.Exponent}
}

// Login is the answer of POST /v1/auth/login.
type Login struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      bank.User `json:"user"`
}

// CustomerMatch is one hit of the teller search.
type CustomerMatch struct {
	User     bank.User `json:"user"`
	Accounts []Account `json:"accounts"`
}

// OpenAccount is the body of POST /v1/accounts.
type OpenAccount struct {
	Type            string `json:"type"`
	Currency        string `json:"currency"`
	Name            string `json:"name,omitempty"`
	OverdraftLimit  int64  `json:"overdraft_limit,omitempty"`
	InterestRateBPS int64  `json:"interest_rate_bps,omitempty"`
}

// TransferRequest is the body of POST /v1/transfers.
type TransferRequest struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
}

// CashRequest is the body of the teller deposit and withdrawal routes.
type CashRequest struct {
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
}

// EntryQuery selects a page of history. From is inclusive, To exclusive.
type EntryQuery struct {
	Limit    int
	Cursor   string
	From, To time.Time
}

// EntryPage is one page of an account's journal, newest first.
type EntryPage struct {
	Entries    []bank.Entry `json:"entries"`
	NextCursor string       `json:"next_cursor"`
}

// Statement is one monthly statement's summary (the list leaves out the
// entries; the CSV download has them).
type Statement struct {
	Account        string    `json:"account"`
	Month          string    `json:"month"` // YYYY-MM
	Currency       string    `json:"currency"`
	PeriodStart    time.Time `json:"period_start"`
	PeriodEnd      time.Time `json:"period_end"` // exclusive
	OpeningBalance int64     `json:"opening_balance"`
	ClosingBalance int64     `json:"closing_balance"`
	TotalIn        int64     `json:"total_in"`
	TotalOut       int64     `json:"total_out"` // positive
	EntryCount     int       `json:"entry_count"`
	GeneratedAt    time.Time `json:"generated_at"`
}

// StandingOrder is a recurring transfer. Dates are days, YYYY-MM-DD.
type StandingOrder struct {
	ID          string     `json:"id"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	Description string     `json:"description"`
	Frequency   string     `json:"frequency"` // daily | weekly | monthly
	FirstDate   string     `json:"first_date"`
	EndDate     string     `json:"end_date,omitempty"`
	Count       int        `json:"count,omitempty"`
	Status      string     `json:"status"` // active | cancelled | completed
	NextDate    string     `json:"next_date,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	Runs        []struct {
		Date       string `json:"date"`
		Status     string `json:"status"` // executed | failed
		TransferID string `json:"transfer_id,omitempty"`
		Code       string `json:"code,omitempty"`
	} `json:"runs"`
}

// StandingOrderRequest is the body of POST /v1/standing-orders.
type StandingOrderRequest struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
	Frequency   string `json:"frequency"`
	FirstDate   string `json:"first_date"`
	EndDate     string `json:"end_date,omitempty"`
	Count       int    `json:"count,omitempty"`
}

// Reconciliation is the last result of the ledger check (staff).
type Reconciliation struct {
	Report struct {
		CheckedAt      time.Time        `json:"checked_at"`
		Accounts       int              `json:"accounts"`
		Entries        int64            `json:"entries"`
		Sums           map[string]int64 `json:"sums"` // per currency; all zero when balanced
		Mismatches     []map[string]any `json:"mismatches"`
		HeldMismatches []map[string]any `json:"held_mismatches"`
		Duration       string           `json:"duration"`
	} `json:"report"`
	Balanced    bool      `json:"balanced"`
	Imbalance   int64     `json:"imbalance"`
	LastSuccess time.Time `json:"last_success"`
}

// JobStat is one job name's queue state (staff).
type JobStat struct {
	Job       string `json:"job"`
	Queued    int64  `json:"queued"`    // waiting to run
	Retrying  int64  `json:"retrying"`  // failed, waiting for a retry
	Scheduled int64  `json:"scheduled"` // to run later
	Dead      int64  `json:"dead"`      // failed for good
}

type forwardedKey struct{}

// WithClientAddr marks ctx with the end user's address, sent to the API as
// X-Forwarded-For so that its login rate limits count per person, not per
// web server (the API believes it only from its configured trusted proxies).
// addr may be a comma-separated chain of hops, client first.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, forwardedKey{}, addr)
}

// ClientAddr returns what WithClientAddr stored.
func ClientAddr(ctx context.Context) string {
	addr, _ := ctx.Value(forwardedKey{}).(string)
	return addr
}

// do sends one request. body, when not nil, is sent as JSON; out, when not
// nil, receives the decoded JSON answer. Any status ≥ 400 becomes *Problem.
func (c *Client) do(ctx context.Context, method, path, token, idemKey string, body, out any) error {
	resp, err := c.send(ctx, method, path, token, idemKey, "application/json", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out); err != nil {
		return fmt.Errorf("api: decoding %s %s: %w", method, path, err)
	}
	return nil
}

// send sends one request asking for accept and returns the answer, whose
// body the caller closes; any status ≥ 400 becomes *Problem instead.
func (c *Client) send(ctx context.Context, method, path, token, idemKey, accept string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if id := requestid.From(ctx); id != "" {
		req.Header.Set(requestid.Header, id)
	}
	if addr, ok := ctx.Value(forwardedKey{}).(string); ok && addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("api unreachable: %w", err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, readProblem(resp)
	}
	return resp, nil
}

func readProblem(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	p := &Problem{}
	if err := json.Unmarshal(b, p); err != nil || (p.Code == "" && p.Title == "") {
		p = &Problem{Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(b))}
	}
	p.Status = resp.StatusCode
	if p.Code == "" {
		p.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(resp.StatusCode)), " ", "_")
	}
	p.RetryAfter = resp.Header.Get("Retry-After")
	return p
}

// Register creates a customer.
func (c *Client) Register(ctx context.Context, username, password string) (bank.User, error) {
	var u bank.User
	err := c.do(ctx, "POST", "/v1/auth/register", "", "", map[string]string{"username": username, "password": password}, &u)
	return u, err
}

// Login exchanges credentials for a bearer token.
func (c *Client) Login(ctx context.Context, username, password string) (Login, error) {
	var l Login
	err := c.do(ctx, "POST", "/v1/auth/login", "", "", map[string]string{"username": username, "password": password}, &l)
	return l, err
}

// Logout revokes token.
func (c *Client) Logout(ctx context.Context, token string) error {
	return c.do(ctx, "POST", "/v1/auth/logout", token, "", nil, nil)
}

// Me returns the token's user.
func (c *Client) Me(ctx context.Context, token string) (bank.User, error) {
	var u bank.User
	err := c.do(ctx, "GET", "/v1/me", token, "", nil, &u)
	return u, err
}

// Accounts lists the caller's own accounts.
func (c *Client) Accounts(ctx context.Context, token string) ([]Account, error) {
	var out struct {
		Accounts []Account `json:"accounts"`
	}
	err := c.do(ctx, "GET", "/v1/accounts", token, "", nil, &out)
	return out.Accounts, err
}

// OpenAccount opens an account for the caller.
func (c *Client) OpenAccount(ctx context.Context, token string, r OpenAccount) (Account, error) {
	var a Account
	err := c.do(ctx, "POST", "/v1/accounts", token, "", r, &a)
	return a, err
}

// Account fetches one account; customers get 404 for accounts not theirs.
func (c *Client) Account(ctx context.Context, token, number string) (Account, error) {
	var a Account
	err := c.do(ctx, "GET", "/v1/accounts/"+url.PathEscape(number), token, "", nil, &a)
	return a, err
}

// Entries fetches one page of an account's history.
func (c *Client) Entries(ctx context.Context, token, number string, q EntryQuery) (EntryPage, error) {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339))
	}
	path := "/v1/accounts/" + url.PathEscape(number) + "/entries"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var p EntryPage
	err := c.do(ctx, "GET", path, token, "", nil, &p)
	return p, err
}

// Holds lists an account's holds.
func (c *Client) Holds(ctx context.Context, token, number string) ([]bank.Hold, error) {
	var out struct {
		Holds []bank.Hold `json:"holds"`
	}
	err := c.do(ctx, "GET", "/v1/accounts/"+url.PathEscape(number)+"/holds", token, "", nil, &out)
	return out.Holds, err
}

// HoldRequest is the body of POST /v1/holds: reserve Amount of Account
// for Payee.
type HoldRequest struct {
	Account     string `json:"account"`
	Payee       string `json:"payee"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
}

// AuthorizeHold reserves funds, once per idempotency key.
func (c *Client) AuthorizeHold(ctx context.Context, token, idemKey string, r HoldRequest) (bank.Hold, error) {
	var h bank.Hold
	err := c.do(ctx, "POST", "/v1/holds", token, idemKey, r, &h)
	return h, err
}

// CaptureHold pays a hold to its payee: all of it when amount is 0.
func (c *Client) CaptureHold(ctx context.Context, token, idemKey, id string, amount int64) (bank.Hold, error) {
	body := map[string]any{}
	if amount > 0 {
		body["amount"] = amount
	}
	var h bank.Hold
	err := c.do(ctx, "POST", "/v1/holds/"+url.PathEscape(id)+"/capture", token, idemKey, body, &h)
	return h, err
}

// VoidHold releases a hold.
func (c *Client) VoidHold(ctx context.Context, token, idemKey, id string) (bank.Hold, error) {
	var h bank.Hold
	err := c.do(ctx, "POST", "/v1/holds/"+url.PathEscape(id)+"/void", token, idemKey, map[string]any{}, &h)
	return h, err
}

// Transfer moves money between accounts, once per idempotency key.
func (c *Client) Transfer(ctx context.Context, token, idemKey string, r TransferRequest) (bank.Transfer, error) {
	var t bank.Transfer
	err := c.do(ctx, "POST", "/v1/transfers", token, idemKey, r, &t)
	return t, err
}

// Deposit is a teller cash deposit.
func (c *Client) Deposit(ctx context.Context, token, idemKey string, r CashRequest) (bank.Transfer, error) {
	var t bank.Transfer
	err := c.do(ctx, "POST", "/v1/teller/deposits", token, idemKey, r, &t)
	return t, err
}

// Withdraw is a teller cash withdrawal.
func (c *Client) Withdraw(ctx context.Context, token, idemKey string, r CashRequest) (bank.Transfer, error) {
	var t bank.Transfer
	err := c.do(ctx, "POST", "/v1/teller/withdrawals", token, idemKey, r, &t)
	return t, err
}

// SearchCustomers finds customers by username prefix or account number (staff).
func (c *Client) SearchCustomers(ctx context.Context, token, q string) ([]CustomerMatch, error) {
	var out struct {
		Customers []CustomerMatch `json:"customers"`
	}
	err := c.do(ctx, "GET", "/v1/teller/customers?q="+url.QueryEscape(q), token, "", nil, &out)
	return out.Customers, err
}

// Till is what the caller did at the till (GET /v1/teller/till).
type Till struct {
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Totals   []TillTotal `json:"totals"`
	Accounts []string    `json:"accounts"`
}

// TillTotal is one currency's cash at the till, in minor units.
type TillTotal struct {
	Currency    string `json:"currency"`
	Deposits    int64  `json:"deposits"`
	Withdrawals int64  `json:"withdrawals"`
	Postings    int    `json:"postings"`
}

// TodaysTill returns the caller's till since midnight UTC.
func (c *Client) TodaysTill(ctx context.Context, token string) (Till, error) {
	var out Till
	err := c.do(ctx, "GET", "/v1/teller/till", token, "", nil, &out)
	return out, err
}

// ReversalRequest asks for the reversal of a posted transfer; Amount 0
// reverses all that remains.
type ReversalRequest struct {
	TransferID string `json:"transfer_id"`
	Amount     int64  `json:"amount,omitempty"`
	Reason     string `json:"reason"`
}

// RequestReversal records a reversal request for another admin to decide.
func (c *Client) RequestReversal(ctx context.Context, token, idemKey string, r ReversalRequest) (bank.Reversal, error) {
	var out bank.Reversal
	err := c.do(ctx, "POST", "/v1/admin/reversals", token, idemKey, r, &out)
	return out, err
}

// PendingReversals lists the reversal requests waiting for a decision.
func (c *Client) PendingReversals(ctx context.Context, token string) ([]bank.Reversal, error) {
	var out struct {
		Reversals []bank.Reversal `json:"reversals"`
	}
	err := c.do(ctx, "GET", "/v1/admin/reversals?status=pending", token, "", nil, &out)
	return out.Reversals, err
}

// ApproveReversal posts a requested reversal (an admin other than the
// one who asked).
func (c *Client) ApproveReversal(ctx context.Context, token, idemKey, id string) (bank.Reversal, error) {
	var out bank.Reversal
	err := c.do(ctx, "POST", "/v1/admin/reversals/"+url.PathEscape(id)+"/approve", token, idemKey, nil, &out)
	return out, err
}

// RejectReversal refuses a requested reversal with a reason.
func (c *Client) RejectReversal(ctx context.Context, token, id, reason string) (bank.Reversal, error) {
	var out bank.Reversal
	err := c.do(ctx, "POST", "/v1/admin/reversals/"+url.PathEscape(id)+"/reject", token, "", map[string]string{"reason": reason}, &out)
	return out, err
}

// SetStatus runs an admin account action: "freeze", "unfreeze" or "close".
func (c *Client) SetStatus(ctx context.Context, token, number, action string) (Account, error) {
	switch action {
	case "freeze", "unfreeze", "close":
	default:
		return Account{}, fmt.Errorf("apiclient: unknown account action %q", action)
	}
	var a Account
	err := c.do(ctx, "POST", "/v1/admin/accounts/"+url.PathEscape(number)+"/"+action, token, "", struct{}{}, &a)
	return a, err
}

// Statements lists an account's monthly statements.
func (c *Client) Statements(ctx context.Context, token, number string) ([]Statement, error) {
	var out struct {
		Statements []Statement `json:"statements"`
	}
	err := c.do(ctx, "GET", "/v1/accounts/"+url.PathEscape(number)+"/statements", token, "", nil, &out)
	return out.Statements, err
}

// StatementCSV streams one statement as CSV. The caller closes the body.
func (c *Client) StatementCSV(ctx context.Context, token, number, month string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, "GET", "/v1/accounts/"+url.PathEscape(number)+"/statements/"+url.PathEscape(month)+"?format=csv", token, "", "text/csv", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// StandingOrders lists the caller's standing orders.
func (c *Client) StandingOrders(ctx context.Context, token string) ([]StandingOrder, error) {
	var out struct {
		StandingOrders []StandingOrder `json:"standing_orders"`
	}
	err := c.do(ctx, "GET", "/v1/standing-orders", token, "", nil, &out)
	return out.StandingOrders, err
}

// CreateStandingOrder creates a recurring transfer, once per idempotency key.
func (c *Client) CreateStandingOrder(ctx context.Context, token, idemKey string, r StandingOrderRequest) (StandingOrder, error) {
	var o StandingOrder
	err := c.do(ctx, "POST", "/v1/standing-orders", token, idemKey, r, &o)
	return o, err
}

// CancelStandingOrder cancels a standing order.
func (c *Client) CancelStandingOrder(ctx context.Context, token, id string) error {
	return c.do(ctx, "DELETE", "/v1/standing-orders/"+url.PathEscape(id), token, "", nil, nil)
}

// Reconciliation returns the last reconciliation result (staff); 404 when
// it has not run yet.
func (c *Client) Reconciliation(ctx context.Context, token string) (Reconciliation, error) {
	var out Reconciliation
	err := c.do(ctx, "GET", "/v1/admin/reconciliation", token, "", nil, &out)
	return out, err
}

// Jobs returns queue depths, retries and dead jobs per job name (staff).
func (c *Client) Jobs(ctx context.Context, token string) ([]JobStat, error) {
	var out struct {
		Jobs []JobStat `json:"jobs"`
	}
	err := c.do(ctx, "GET", "/v1/admin/jobs", token, "", nil, &out)
	return out.Jobs, err
}

// Ready checks that the API answers its readiness probe.
func (c *Client) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("api: /readyz answered %d", resp.StatusCode)
	}
	return nil
}

// AuditQuery selects a page of the audit trail. From is inclusive, To
// exclusive; Cursor is the previous page's NextCursor.
type AuditQuery struct {
	Actor, Account, Cursor string
	From, To               time.Time
	Limit                  int
}

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Entries    []bank.AuditEntry `json:"entries"`
	NextCursor string            `json:"next_cursor"`
}

// Audit reads a page of the audit trail (admins and auditors).
func (c *Client) Audit(ctx context.Context, token string, q AuditQuery) (AuditPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "account": q.Account, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339))
	}
	var out AuditPage
	err := c.do(ctx, "GET", "/v1/admin/audit?"+v.Encode(), token, "", nil, &out)
	return out, err
}
