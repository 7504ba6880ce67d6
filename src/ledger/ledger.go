// Package ledger keeps the double-entry ledger in Redis. Every posting is one
// Lua script that reads state, checks the money rules, writes both balances,
// appends both journal entries and records the idempotency key, all or
// nothing. Go code here only prepares arguments and decodes replies; the
// rules live in scripts/*.lua so that no interleaving of clients can break
// them.
package ledger

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/redishash"
	"github.com/kubebank/kubebank/src/redispool"
)

//go:embed scripts/*.lua
var embedded embed.FS

// scripts holds the ledger's Lua: money.lua, the helpers every posting
// script shares, and one file per operation.
var scripts, _ = fs.Sub(embedded, "scripts")

// DefaultIdempotencyTTL is how long a replay returns the original result.
const DefaultIdempotencyTTL = 7 * 24 * time.Hour

// moneyLua is money.lua after the key families its transfer helpers
// build themselves (a transfer is found by its id alone), taken from
// keyspace so that no script spells them.
var moneyLua = fmt.Sprintf("local KEY_TRANSFER, KEY_JOURNAL, KEY_ACCOUNT = %q, %q, %q\n",
	keyspace.Transfer, keyspace.Journal, keyspace.Account) + luascript.Read(scripts, "money")

// loadScript returns the ledger script made of names (helpers first,
// the operation last), run after the money helpers.
func loadScript(keys int, names ...string) *redis.Script {
	parts := []string{moneyLua}
	for _, n := range names {
		parts = append(parts, luascript.Read(scripts, n))
	}
	return luascript.New(keys, parts...)
}

var (
	scriptTransfer  = loadScript(6, "transfer")
	scriptRecord    = loadScript(0, "transfer_get")
	scriptAuthorize = loadScript(6, "hold_authorize")
	scriptSettle    = loadScript(8, "hold_settle")
	scriptStatus    = loadScript(1, "status")
	scriptSums      = loadScript(2, "sums")
	scriptSystem    = loadScript(2, "system_account")
	scriptOpen      = loadScript(3, "exposure", "open")
	scriptOverdraft = loadScript(2, "exposure", "set_overdraft")
)

// Ledger is the money store.
type Ledger struct {
	pool *redis.Pool
	// Now is the ledger's clock: journal times, hold expiry, activity.
	// Tests and jobs replace it; it defaults to time.Now.
	Now            func() time.Time
	IdempotencyTTL time.Duration
	// Limits bound each customer's exposure (open.go); DefaultLimits
	// unless the caller sets them.
	Limits Limits
	// Ack is how many replicas must confirm a posting before it counts as
	// done (none by default: a single redis-server).
	Ack redispool.Ack
	// Pipe, when set, carries the requests that are one script call (a
	// customer's transfer, hold, capture, void) to Redis together with
	// other requests' (group commit); nil gives each a pooled connection.
	Pipe *redispool.Pipeline
}

// move runs a script that moves money, confirmed on l.Ack's replicas.
func (l *Ledger) move(ctx context.Context, c redis.Conn, s *redis.Script, keysAndArgs ...any) (any, error) {
	return luascript.Run(ctx, c, s, l.Ack, keysAndArgs...)
}

// New returns a ledger on pool.
func New(pool *redis.Pool) *Ledger {
	return &Ledger{pool: pool, Now: time.Now, IdempotencyTTL: DefaultIdempotencyTTL, Limits: DefaultLimits}
}

func (l *Ledger) conn(ctx context.Context) (redis.Conn, error) {
	c, err := l.pool.GetContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: redis: %w", err)
	}
	return c, nil
}

// scriptConn is the connection for a request that is one script call
// (and its WAIT): the pipeline's when there is one.
func (l *Ledger) scriptConn(ctx context.Context) (redis.Conn, error) {
	if l.Pipe != nil {
		return l.Pipe.Conn(), nil
	}
	return l.conn(ctx)
}

func (l *Ledger) nowMs() int64 { return l.Now().UnixMilli() }

// NewID returns a random identifier with a type prefix, e.g. "tr_…".
func NewID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// Idem identifies a write for idempotency: Scope (a user or job id) plus
// the client's Key, and Hash of the request so a different request under
// the same key is refused. A zero Idem disables the check.
type Idem struct {
	Scope, Key, Hash string
}

// decodeReply turns a script reply {status, id} or an error reply into Go.
func decodeReply(reply any, err error) (status, id string, _ error) {
	if err != nil {
		return "", "", luascript.Error("ledger", err)
	}
	vals, err := redis.Strings(reply, nil)
	if err != nil || len(vals) != 2 {
		return "", "", fmt.Errorf("ledger: unexpected script reply %v: %v", reply, err)
	}
	return vals[0], vals[1], nil
}

// EnsureSystemAccounts creates the teller-cash and interest-expense
// accounts for every allowed currency. It is idempotent and cheap, so
// every process runs it at start.
func (l *Ledger) EnsureSystemAccounts(ctx context.Context) error {
	c, err := l.conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	now := l.nowMs()
	for _, code := range bank.CurrencyCodes() {
		cur, _ := bank.LookupCurrency(code)
		for purpose, name := range map[int]string{bank.PurposeTellerCash: "Teller cash " + code, bank.PurposeInterestExpense: "Interest expense " + code} {
			n := bank.SystemAccountNumber(purpose, cur)
			if _, _, err := decodeReply(scriptSystem.DoContext(ctx, c, accountKey(n), keyspace.Accounts, n, code, name, now)); err != nil {
				return err
			}
		}
	}
	return nil
}

// SystemAccount returns the number of a system account for currency.
func SystemAccount(purpose int, currency string) (string, error) {
	cur, err := bank.LookupCurrency(currency)
	if err != nil {
		return "", err
	}
	return bank.SystemAccountNumber(purpose, cur), nil
}

// accountFrom decodes an account's hash; a malformed number is an error,
// never a balance of 0.
func accountFrom(m map[string]string) (bank.Account, error) {
	f := redishash.New(accountKey(m["number"]), m)
	a := bank.Account{
		Number: f.Str("number"), Owner: f.Str("owner"), Name: f.Str("name"), Type: bank.AccountType(f.Str("type")),
		Currency: f.Str("currency"), Status: bank.Status(f.Str("status")), Balance: f.Int("balance"),
		Held: f.Int("held"), OverdraftLimit: f.Int("overdraft"), InterestRate: f.Int("rate"),
		CreatedAt: f.Millis("created"), LastActivity: f.Millis("last_activity"),
	}
	a.Available = a.Balance - a.Held
	if err := f.Err(); err != nil {
		return bank.Account{}, fmt.Errorf("ledger: %w", err)
	}
	return a, nil
}

// Account returns one account.
func (l *Ledger) Account(ctx context.Context, number string) (bank.Account, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Account{}, err
	}
	defer c.Close()
	m, err := redis.StringMap(c.Do("HGETALL", accountKey(number)))
	if err != nil {
		return bank.Account{}, fmt.Errorf("ledger: %w", err)
	}
	if len(m) == 0 {
		return bank.Account{}, bank.ErrAccountNotFound
	}
	return accountFrom(m)
}

// Accounts returns the accounts with the given numbers in one round trip,
// skipping numbers that do not exist.
func (l *Ledger) Accounts(ctx context.Context, numbers []string) ([]bank.Account, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for _, n := range numbers {
		c.Send("HGETALL", accountKey(n))
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	out := make([]bank.Account, 0, len(numbers))
	for range numbers {
		m, err := redis.StringMap(c.Receive())
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		if len(m) > 0 {
			a, err := accountFrom(m)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// AccountsOf lists an owner's accounts, oldest first.
func (l *Ledger) AccountsOf(ctx context.Context, owner string) ([]bank.Account, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	nums, err := redis.Strings(c.Do("SORT", ownerKey(owner), "ALPHA"))
	c.Close()
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return l.Accounts(ctx, nums)
}

// AccountNumbers lists every account number (system accounts included),
// sorted. Jobs use it to fan out over all accounts.
func (l *Ledger) AccountNumbers(ctx context.Context) ([]string, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	nums, err := redis.Strings(c.Do("SORT", keyspace.Accounts, "ALPHA"))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return nums, nil
}

// readHash reads the record at key (notFound when there is none) and
// decodes it; a malformed stored number is an error, never 0.
func readHash[T any](c redis.Conn, key string, notFound error, decode func(*redishash.Fields) T) (T, error) {
	var zero T
	m, err := redis.StringMap(c.Do("HGETALL", key))
	if err != nil {
		return zero, fmt.Errorf("ledger: %w", err)
	}
	if len(m) == 0 {
		return zero, notFound
	}
	f := redishash.New(key, m)
	v := decode(f)
	if err := f.Err(); err != nil {
		return zero, fmt.Errorf("ledger: %w", err)
	}
	return v, nil
}
