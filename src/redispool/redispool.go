// Package redispool builds the redigo connection pool every process uses.
package redispool

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Options configures a pool. Password, when set, overrides any password in
// the URL so that Kubernetes can inject it from a Secret. Username, when
// set, logs in as that Redis ACL user (each bank process has its own, with
// only the keys and commands it needs); empty is Redis's default user.
type Options struct {
	URL       string
	Username  string
	Password  string
	MaxActive int
}

// Flags registers --redis-url (described by urlUsage), --redis-username
// and --redis-password on fs, filling o. Parsed with cli.Parse, each can
// also be set as BANK_REDIS_URL, BANK_REDIS_USERNAME, BANK_REDIS_PASSWORD.
func (o *Options) Flags(fs *flag.FlagSet, urlUsage string) {
	fs.StringVar(&o.URL, "redis-url", "redis://localhost:6379/0", urlUsage)
	fs.StringVar(&o.Username, "redis-username", "", "Redis ACL user to log in as (empty: the default user)")
	fs.StringVar(&o.Password, "redis-password", "", "Redis password (overrides one in the URL; set it from a Secret)")
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
			if o.Username != "" {
				opts = append(opts, redis.DialUsername(o.Username))
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
