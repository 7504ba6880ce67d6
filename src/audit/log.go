package audit

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
)

//go:embed *.lua
var scripts embed.FS

var scriptAppend = luascript.Load(scripts, 0, "append")

// Log reads and appends the trail. Nothing here deletes or edits an
// entry, and the Redis users of the bank's processes may only append
// (XADD) to its keys, so that neither a bug nor a stolen credential can.
type Log struct {
	pool *redis.Pool
}

// New returns the trail on pool.
func New(pool *redis.Pool) *Log { return &Log{pool: pool} }

// Append writes rec on its own, for what has no script of its own to
// write it in: refusals, job runs. It returns the entry's id.
func (l *Log) Append(ctx context.Context, rec Record) (string, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	c, err := l.pool.GetContext(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	id, err := redis.String(scriptAppend.DoContext(ctx, c, string(b)))
	if err != nil {
		return "", fmt.Errorf("audit: append: %w", err)
	}
	return id, nil
}

// Filter selects entries. Zero fields select everything.
type Filter struct {
	Actor   string
	Account string
	From    time.Time // inclusive
	To      time.Time // exclusive
	// Cursor is the id of the last entry of the previous page: the page
	// starts just before it (entries come newest first).
	Cursor string
	Limit  int // DefaultLimit when 0, at most MaxLimit
}

// Page bounds.
const (
	DefaultLimit = 50
	MaxLimit     = 200
	// maxScan bounds how many entries one page may look at when both an
	// actor and an account are given (one index is read, the other
	// filtered): a page can then be short, with a cursor to go on.
	maxScan = 2000
)

// Page is one page of entries, newest first. Next is the cursor of the
// following page, "" when there is none.
type Page struct {
	Entries []bank.AuditEntry `json:"entries"`
	Next    string            `json:"next_cursor,omitempty"`
}

var idPattern = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ValidCursor reports whether c is an entry id (or empty).
func ValidCursor(c string) bool { return c == "" || idPattern.MatchString(c) }

// List reads a page of entries matching f, newest first, from the index
// that narrows it most.
func (l *Log) List(ctx context.Context, f Filter) (Page, error) {
	if !ValidCursor(f.Cursor) {
		return Page{}, bank.Errorf(bank.KindInvalid, "invalid_cursor", "cursor must be an entry id from next_cursor")
	}
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	key, filterActor := keyspace.Audit, false
	switch {
	case f.Account != "":
		key, filterActor = keyspace.AuditAccount+f.Account, f.Actor != ""
	case f.Actor != "":
		key = keyspace.AuditActor + f.Actor
	}
	end, start := "+", "-"
	if !f.To.IsZero() {
		end = "(" + strconv.FormatInt(f.To.UnixMilli(), 10) + "-0"
	}
	if f.Cursor != "" && (f.To.IsZero() || idLess(f.Cursor, strconv.FormatInt(f.To.UnixMilli(), 10)+"-0")) {
		end = "(" + f.Cursor
	}
	if !f.From.IsZero() {
		start = strconv.FormatInt(f.From.UnixMilli(), 10) + "-0"
	}

	c, err := l.pool.GetContext(ctx)
	if err != nil {
		return Page{}, err
	}
	defer c.Close()
	var (
		out         []bank.AuditEntry
		lastScanned string
		exhausted   bool
	)
	for scanned := 0; len(out) <= f.Limit && scanned < maxScan; {
		n := f.Limit + 1 - len(out)
		if filterActor {
			n = 100
		}
		batch, err := readRange(c, key, end, start, n)
		if err != nil {
			return Page{}, err
		}
		for _, e := range batch {
			scanned++
			lastScanned = e.ID
			if !filterActor || e.Actor == f.Actor {
				out = append(out, e)
				if len(out) > f.Limit {
					break
				}
			}
		}
		if len(batch) < n {
			exhausted = true
			break
		}
		end = "(" + batch[len(batch)-1].ID
	}
	p := Page{Entries: out}
	switch {
	case len(out) > f.Limit:
		p.Entries = out[:f.Limit]
		p.Next = p.Entries[f.Limit-1].ID
	case !exhausted && lastScanned != "":
		p.Next = lastScanned // the scan bound, not the end: go on from here
	}
	if p.Entries == nil {
		p.Entries = []bank.AuditEntry{}
	}
	return p, nil
}

// readRange reads up to n entries of key from end down to start.
func readRange(c redis.Conn, key, end, start string, n int) ([]bank.AuditEntry, error) {
	vs, err := redis.Values(c.Do("XREVRANGE", key, end, start, "COUNT", n))
	if err != nil {
		return nil, fmt.Errorf("audit: read: %w", err)
	}
	out := make([]bank.AuditEntry, 0, len(vs))
	for _, v := range vs {
		pair, err := redis.Values(v, nil)
		if err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("audit: read: malformed entry")
		}
		id, _ := redis.String(pair[0], nil)
		fields, err := redis.StringMap(pair[1], nil)
		if err != nil {
			return nil, fmt.Errorf("audit: read %s: %w", id, err)
		}
		out = append(out, entryOf(id, fields))
	}
	return out, nil
}

func entryOf(id string, f map[string]string) bank.AuditEntry {
	ms, _ := strconv.ParseInt(id[:strings.IndexByte(id, '-')], 10, 64)
	e := bank.AuditEntry{ID: id, At: time.UnixMilli(ms).UTC(), Actor: f["actor"], ActorName: f["actor_name"], Role: bank.Role(f["role"]), Action: f["action"],
		Target: f["target"], Accounts: strings.Fields(f["accounts"]), RequestID: f["request_id"], Outcome: f["outcome"],
		Code: f["code"], Detail: map[string]string{}}
	// Lua's cjson writes an empty table as {}: always an object.
	_ = json.Unmarshal([]byte(f["detail"]), &e.Detail)
	if e.Accounts == nil {
		e.Accounts = []string{}
	}
	return e
}

// idLess reports whether stream id a sorts before b.
func idLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ami, _ := strconv.ParseUint(am, 10, 64)
	bmi, _ := strconv.ParseUint(bm, 10, 64)
	if ami != bmi {
		return ami < bmi
	}
	asi, _ := strconv.ParseUint(as, 10, 64)
	bsi, _ := strconv.ParseUint(bs, 10, 64)
	return asi < bsi
}
