// Package statements builds, stores and renders monthly account
// statements. A statement is derived only from the append-only journal,
// so building one twice gives the same statement: the monthly job may run
// as often as gocraft/work fires it.
package statements

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/ledger"
)

// Statement is one account's month.
type Statement struct {
	Account        string       `json:"account"`
	Month          string       `json:"month"` // YYYY-MM
	Currency       string       `json:"currency"`
	PeriodStart    time.Time    `json:"period_start"`
	PeriodEnd      time.Time    `json:"period_end"` // exclusive
	OpeningBalance int64        `json:"opening_balance"`
	ClosingBalance int64        `json:"closing_balance"`
	TotalIn        int64        `json:"total_in"`
	TotalOut       int64        `json:"total_out"` // positive
	EntryCount     int          `json:"entry_count"`
	Entries        []bank.Entry `json:"entries,omitempty"`
	GeneratedAt    time.Time    `json:"generated_at"`
}

// Summary is a statement without its entries, for listings.
func (s Statement) Summary() Statement { s.Entries = nil; return s }

// ParseMonth parses YYYY-MM into the first instant of that month in loc.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil || len(s) != 7 {
		return time.Time{}, bank.Errorf(bank.KindInvalid, "invalid_month", "month %q must be YYYY-MM", s)
	}
	return t, nil
}

// Build computes the statement of account for month (YYYY-MM) in loc from
// the journal. It checks its own arithmetic: opening + in − out must equal
// the balance recorded by the month's last entry.
func Build(ctx context.Context, l *ledger.Ledger, account, month string, loc *time.Location, now time.Time) (Statement, error) {
	start, err := ParseMonth(month, loc)
	if err != nil {
		return Statement{}, err
	}
	end := start.AddDate(0, 1, 0)
	// Statements are stored once and never rebuilt, so one made before the
	// month is over would keep a mid-month closing balance for good.
	if now.Before(end) {
		return Statement{}, bank.Errorf(bank.KindInvalid, "month_not_ended", "the statement for %s can only be made after the month has ended", month)
	}
	acct, err := l.Account(ctx, account)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{Account: account, Month: month, Currency: acct.Currency, PeriodStart: start.UTC(), PeriodEnd: end.UTC(), GeneratedAt: now.UTC()}
	// Opening balance: the balance after the last entry before the month.
	prev, _, err := l.Entries(ctx, ledger.EntryQuery{Account: account, Limit: 1, To: start})
	if err != nil {
		return Statement{}, err
	}
	if len(prev) == 1 {
		st.OpeningBalance = prev[0].BalanceAfter
	}
	entries, err := l.EntriesBetween(ctx, account, start, end)
	if err != nil {
		return Statement{}, err
	}
	st.Entries = entries
	st.EntryCount = len(entries)
	for _, e := range entries {
		if e.Amount > 0 {
			st.TotalIn += e.Amount
		} else {
			st.TotalOut -= e.Amount
		}
	}
	st.ClosingBalance = st.OpeningBalance + st.TotalIn - st.TotalOut
	if n := len(entries); n > 0 && entries[n-1].BalanceAfter != st.ClosingBalance {
		return Statement{}, fmt.Errorf("statements: %s %s: opening %d + in %d - out %d = %d, but the journal says %d",
			account, month, st.OpeningBalance, st.TotalIn, st.TotalOut, st.ClosingBalance, entries[n-1].BalanceAfter)
	}
	return st, nil
}

// Store keeps statements in Redis next to the ledger.
type Store struct{ pool *redis.Pool }

// NewStore returns a store on pool.
func NewStore(pool *redis.Pool) *Store { return &Store{pool: pool} }

func key(account, month string) string { return keyspace.Statement + account + ":" + month }
func indexKey(account string) string   { return keyspace.StatementIndex + account }

func monthScore(month string) int64 {
	y, _ := strconv.Atoi(month[:4])
	m, _ := strconv.Atoi(month[5:])
	return int64(y*100 + m)
}

// Save stores st unless a statement for that account and month exists; it
// reports whether this call created it (so "statement ready" is announced
// once). Statements are immutable once issued.
func (s *Store) Save(ctx context.Context, st Statement) (bool, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return false, err
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	ok, err := redis.String(c.Do("SET", key(st.Account, st.Month), b, "NX"))
	created := err == nil && ok == "OK"
	if err != nil && err != redis.ErrNil {
		return false, fmt.Errorf("statements: %w", err)
	}
	// Indexed on every run, not only the first: a run that died between
	// the two writes left a stored statement that no list showed.
	if _, err := c.Do("ZADD", indexKey(st.Account), monthScore(st.Month), st.Month); err != nil {
		return false, fmt.Errorf("statements: %w", err)
	}
	return created, nil
}

// ErrNotFound is returned for a month without a statement.
var ErrNotFound = &bank.Error{Kind: bank.KindNotFound, Code: "statement_not_found", Message: "no statement for this month"}

// Get returns one statement with its entries.
func (s *Store) Get(ctx context.Context, account, month string) (Statement, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return Statement{}, err
	}
	defer c.Close()
	b, err := redis.Bytes(c.Do("GET", key(account, month)))
	if err == redis.ErrNil {
		return Statement{}, ErrNotFound
	}
	if err != nil {
		return Statement{}, fmt.Errorf("statements: %w", err)
	}
	var st Statement
	if err := json.Unmarshal(b, &st); err != nil {
		return Statement{}, fmt.Errorf("statements: %w", err)
	}
	if st.Entries == nil {
		st.Entries = []bank.Entry{}
	}
	return st, nil
}

// List returns an account's statements, newest first, without entries.
func (s *Store) List(ctx context.Context, account string) ([]Statement, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	months, err := redis.Strings(c.Do("ZREVRANGE", indexKey(account), 0, -1))
	c.Close()
	if err != nil {
		return nil, fmt.Errorf("statements: %w", err)
	}
	out := make([]Statement, 0, len(months))
	for _, m := range months {
		st, err := s.Get(ctx, account, m)
		if err != nil {
			return nil, err
		}
		out = append(out, st.Summary())
	}
	return out, nil
}

// WriteCSV renders a statement as CSV: a header block with the totals,
// then one row per entry. Amounts are minor units, as in the API.
func WriteCSV(w io.Writer, st Statement) error {
	cw := csv.NewWriter(w)
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	rows := [][]string{
		{"account", st.Account}, {"month", st.Month}, {"currency", st.Currency},
		{"opening_balance", i(st.OpeningBalance)}, {"total_in", i(st.TotalIn)},
		{"total_out", i(st.TotalOut)}, {"closing_balance", i(st.ClosingBalance)},
		{},
		{"time", "id", "kind", "description", "counterparty", "transfer_id", "amount", "balance_after"},
	}
	for _, e := range st.Entries {
		rows = append(rows, []string{e.Time.UTC().Format(time.RFC3339), e.ID, string(e.Kind), safeCell(e.Description),
			e.Counterparty, e.TransferID, i(e.Amount), i(e.BalanceAfter)})
	}
	// Every row has the entry table's 8 columns, so strict CSV readers
	// (and spreadsheet imports) see one rectangular table.
	for i := range rows {
		for len(rows[i]) < 8 {
			rows[i] = append(rows[i], "")
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// safeCell keeps customer text from being read as a formula by
// spreadsheet programs (CSV injection): such cells get a leading quote.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
