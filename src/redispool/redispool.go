// Package redispool builds the redigo connection pool every process uses.
package redispool

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Options configures a pool. Password, when set, overrides any password in
// the URL so that Kubernetes can inject it from a Secret.
type Options struct {
	URL       string
	Password  string
	MaxActive int
}

// New returns a pool that waits for a free connection rather than failing
// under load, and checks idle connections before reuse.
func New(o Options) *redis.Pool {
	if o.MaxActive == 0 {
		o.MaxActive = 64
	}
	return &redis.Pool{
		MaxIdle:     o.MaxActive,
		MaxActive:   o.MaxActive,
		Wait:        true,
		IdleTimeout: 4 * time.Minute,
		Dial: func() (redis.Conn, error) {
			opts := []redis.DialOption{
				redis.DialConnectTimeout(5 * time.Second),
				redis.DialReadTimeout(10 * time.Second),
				redis.DialWriteTimeout(10 * time.Second),
			}
			if o.Password != "" {
				opts = append(opts, redis.DialPassword(o.Password))
			}
			return redis.DialURL(o.URL, opts...)
		},
		TestOnBorrow: func(c redis.Conn, t time.Time) error {
			if time.Since(t) < 30*time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// Ping checks that Redis answers, for readiness probes.
func Ping(ctx context.Context, p *redis.Pool) error {
	c, err := p.GetContext(ctx)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer c.Close()
	if _, err := redis.DoContext(c, ctx, "PING"); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
