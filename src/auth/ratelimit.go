package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
)

// Limiter counts events per key in fixed windows kept in Redis, so every
// API replica shares one count (a per-process limiter would multiply the
// allowance by the number of pods).
type Limiter struct {
	pool   *redis.Pool
	name   string
	Limit  int
	Window time.Duration
}

// NewLimiter allows limit events per window for each key.
func NewLimiter(pool *redis.Pool, name string, limit int, window time.Duration) *Limiter {
	return &Limiter{pool: pool, name: name, Limit: limit, Window: window}
}

// LimitError says an action is refused until RetryAfter has passed.
type LimitError struct {
	RetryAfter time.Duration
	err        *bank.Error
}

func (e *LimitError) Error() string { return e.err.Error() }

// Unwrap lets bank.ErrorKind/ErrorCode see the domain error.
func (e *LimitError) Unwrap() error { return e.err }

func limited(retry time.Duration, what string) *LimitError {
	if retry < time.Second {
		retry = time.Second
	}
	return &LimitError{RetryAfter: retry, err: bank.Errorf(bank.KindRateLimited, "rate_limited",
		"too many %s; try again in %d seconds", what, int((retry+time.Second-1)/time.Second))}
}

func (l *Limiter) key(k string) string { return keyspace.RateLimit + l.name + ":" + k }

var hitScript = luascript.Load(scripts, 1, "ratelimit_hit")

// Hit records one event and returns the wait when it exceeds the limit.
func (l *Limiter) Hit(ctx context.Context, key string) (time.Duration, error) {
	c, err := l.pool.GetContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("auth: redis: %w", err)
	}
	defer c.Close()
	v, err := redis.Int64s(hitScript.DoContext(ctx, c, l.key(key), l.Window.Milliseconds()))
	if err != nil {
		return 0, fmt.Errorf("auth: redis: %w", err)
	}
	if v[0] > int64(l.Limit) {
		return time.Duration(v[1]) * time.Millisecond, nil
	}
	return 0, nil
}

// Reset forgets the key's count.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	c, err := l.pool.GetContext(ctx)
	if err != nil {
		return fmt.Errorf("auth: redis: %w", err)
	}
	defer c.Close()
	_, err = c.Do("DEL", l.key(key))
	return err
}
