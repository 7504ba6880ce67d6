package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
)

// SessionKeyPrefix starts every web session key in Redis (see keyspace):
// the only keys the web app's Redis user may touch.
const SessionKeyPrefix = keyspace.WebSession

// Session is what the web app remembers about a logged-in browser: the API
// bearer token (the browser never sees it) and who the user is.
type Session struct {
	ID        string    `json:"-"`
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Role      bank.Role `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	Flash     string    `json:"flash,omitempty"`
}

// Staff reports whether the session's user may use the teller console.
func (s *Session) Staff() bool { return s != nil && s.Role.Staff() }

// The console shows each staff member only what the API's permission
// table lets them do (the API refuses the rest anyway).

// Till reports whether the user works the till: cash and freezing.
func (s *Session) Till() bool { return s != nil && s.Role.In(bank.TillRoles) }

// Admin reports whether the user may unfreeze and close accounts.
func (s *Session) Admin() bool { return s != nil && s.Role.In(bank.AdminRoles) }

// Overseer reports whether the user may see reconciliation and the jobs.
func (s *Session) Overseer() bool { return s != nil && s.Role.In(bank.OverseerRoles) }

// Sessions is the server-side session store in Redis. Redis expires keys
// itself, so an abandoned session disappears without a sweeper.
type Sessions struct {
	pool *redis.Pool
	ttl  time.Duration
}

// NewSessions returns a store whose sessions live at most ttl.
func NewSessions(pool *redis.Pool, ttl time.Duration) *Sessions {
	return &Sessions{pool: pool, ttl: ttl}
}

// key hashes the cookie value: a dump of Redis then holds no usable cookie.
func key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return SessionKeyPrefix + hex.EncodeToString(sum[:])
}

func newSessionID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Create stores s under a fresh random id, living until the earlier of the
// store's TTL and tokenExpiry (a session is useless once its token is).
func (st *Sessions) Create(ctx context.Context, s *Session, tokenExpiry time.Time) error {
	exp := time.Now().Add(st.ttl)
	if !tokenExpiry.IsZero() && tokenExpiry.Before(exp) {
		exp = tokenExpiry
	}
	if time.Until(exp) <= 0 {
		return errors.New("session: token already expired")
	}
	s.ID = newSessionID()
	s.ExpiresAt = exp
	return st.set(ctx, s, "PXAT", exp.UnixMilli())
}

// Get returns the session for id, or nil when it does not exist or expired.
func (st *Sessions) Get(ctx context.Context, id string) (*Session, error) {
	if id == "" {
		return nil, nil
	}
	b, err := redis.Bytes(st.do(ctx, "GET", key(id)))
	if errors.Is(err, redis.ErrNil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &Session{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	s.ID = id
	if time.Now().After(s.ExpiresAt) {
		return nil, nil
	}
	return s, nil
}

// Save writes s back, keeping its expiry.
func (st *Sessions) Save(ctx context.Context, s *Session) error {
	// XX: never resurrect a session that expired or was logged out meanwhile.
	return st.set(ctx, s, "KEEPTTL", "XX")
}

// Delete removes the session (logout, or its token was rejected).
func (st *Sessions) Delete(ctx context.Context, id string) error {
	_, err := st.do(ctx, "DEL", key(id))
	return err
}

// set stores s under its id with the SET options opts.
func (st *Sessions) set(ctx context.Context, s *Session, opts ...any) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = st.do(ctx, "SET", append([]any{key(s.ID), b}, opts...)...)
	return err
}

// do runs one command on a pooled connection.
func (st *Sessions) do(ctx context.Context, cmd string, args ...any) (any, error) {
	c, err := st.pool.GetContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	defer c.Close()
	reply, err := redis.DoContext(c, ctx, cmd, args...)
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	return reply, nil
}
