package ledger

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/redishash"
)

// MaxPageSize bounds one page of history.
const MaxPageSize = 200

// EntryQuery selects a page of an account's journal, newest first. From is
// inclusive, To exclusive; Cursor continues a previous page.
type EntryQuery struct {
	Account  string
	Limit    int
	Cursor   string
	From, To time.Time
}

var streamID = regexp.MustCompile(`^[0-9]{1,19}-[0-9]{1,19}$`)

// ErrBadCursor is returned for a cursor this ledger did not issue.
var ErrBadCursor = bank.Errorf(bank.KindInvalid, "invalid_cursor", "cursor is not valid; use the next_cursor of a previous page")

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("e:" + id)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	// "0-0" is valid syntax but no exclusive bound can start below it.
	if err != nil || !strings.HasPrefix(string(b), "e:") || !streamID.MatchString(string(b[2:])) || string(b[2:]) == "0-0" {
		return "", ErrBadCursor
	}
	return string(b[2:]), nil
}

// Entries returns one page of the journal and the cursor of the next page
// ("" at the end).
func (l *Ledger) Entries(ctx context.Context, q EntryQuery) ([]bank.Entry, string, error) {
	q, start, end, err := q.page()
	if err != nil {
		return nil, "", err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	raw, err := redis.Values(c.Do("XREVRANGE", journalKey(q.Account), end, start, "COUNT", q.Limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("ledger: %w", err)
	}
	return q.cut(raw)
}

// page is q with its default limit, and the journal range it covers
// (streamRange); a page reads Limit+1 entries, to know whether another
// follows.
func (q EntryQuery) page() (_ EntryQuery, start, end string, _ error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	start, end, err := q.streamRange()
	return q, start, end, err
}

// cut decodes the entries a page read and keeps Limit of them, with the
// cursor of the next page ("" at the end).
func (q EntryQuery) cut(raw []any) ([]bank.Entry, string, error) {
	entries, err := decodeEntries(q.Account, raw)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(entries) > q.Limit {
		entries = entries[:q.Limit]
		next = encodeCursor(entries[len(entries)-1].ID)
	}
	return entries, next, nil
}

// streamRange checks the query and returns the journal stream ids it
// covers, newest (end) to oldest (start): From ≤ time < To, and only
// entries older than the cursor's.
func (q EntryQuery) streamRange() (start, end string, _ error) {
	if q.Limit > MaxPageSize {
		return "", "", bank.Errorf(bank.KindInvalid, "invalid_limit", "limit must be between 1 and %d", MaxPageSize)
	}
	for _, t := range []time.Time{q.From, q.To} {
		// Journal ids are Unix milliseconds: nothing lies before 1970.
		if !t.IsZero() && t.UnixMilli() < 1 {
			return "", "", bank.Errorf(bank.KindInvalid, "invalid_time", "from and to must be after 1970-01-01T00:00:00Z")
		}
	}
	start, end = "-", "+"
	if !q.To.IsZero() {
		end = strconv.FormatInt(q.To.UnixMilli()-1, 10)
	}
	if !q.From.IsZero() {
		start = strconv.FormatInt(q.From.UnixMilli(), 10)
	}
	if q.Cursor == "" {
		return start, end, nil
	}
	id, err := decodeCursor(q.Cursor)
	if err != nil {
		return "", "", err
	}
	ms, _ := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64) // decodeCursor checked the form
	if q.To.IsZero() || ms < q.To.UnixMilli() {
		end = "(" + id
	}
	return start, end, nil
}

// EntriesBetween returns every entry with from ≤ time < to, oldest first,
// reading in chunks. Statements and reconciliation use it.
func (l *Ledger) EntriesBetween(ctx context.Context, account string, from, to time.Time) ([]bank.Entry, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	start, end := "-", "+"
	if !from.IsZero() {
		start = strconv.FormatInt(from.UnixMilli(), 10)
	}
	if !to.IsZero() {
		end = strconv.FormatInt(to.UnixMilli()-1, 10)
	}
	var out []bank.Entry
	for {
		raw, err := redis.Values(c.Do("XRANGE", journalKey(account), start, end, "COUNT", 1000))
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		page, err := decodeEntries(account, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		start = "(" + page[len(page)-1].ID
	}
}

// decodeEntries decodes entries of account's journal. A sender's entry
// of the journal's form leaves 'transfer' empty: it names the posting
// itself (money.lua's post), 'tr_<account>_<entry id>'.
func decodeEntries(account string, raw []any) ([]bank.Entry, error) {
	out := make([]bank.Entry, 0, len(raw))
	for _, r := range raw {
		pair, err := redis.Values(r, nil)
		if err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("ledger: bad stream entry")
		}
		id, _ := redis.String(pair[0], nil)
		m, err := redis.StringMap(pair[1], nil)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		ms, _ := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64) // Redis makes stream ids
		f := redishash.New("journal entry "+id, m)
		e := bank.Entry{
			ID: id, Time: time.UnixMilli(ms).UTC(), Amount: f.Int("amount"), BalanceAfter: f.Int("balance"),
			Counterparty: f.Str("counterparty"), TransferID: f.Str("transfer"), HoldID: f.Str("hold"), Kind: bank.PostingKind(f.Str("kind")),
			Description: f.Str("desc"),
		}
		if err := f.Err(); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		if e.TransferID == "" {
			e.TransferID = "tr_" + account + "_" + id
		}
		out = append(out, e)
	}
	return out, nil
}
