// Package redispool builds the redigo connection pool every process uses:
// to one redis-server (--redis-url) or to whichever server Redis Sentinel
// names as the primary (--redis-sentinels). Every connection has short
// connect, read and write timeouts, so that a dead, paused or failing-over
// Redis is an error within --redis-timeout, never a hang; and the pool
// drops its connections after a failure (a restart, a failover) instead of
// handing out one dead connection after the other.
package redispool

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/sentinel"
)

// DefaultTimeout bounds each connect, read and write: an API request that
// finds Redis away answers 503 within about this long.
const DefaultTimeout = 2 * time.Second

// Options configures a pool. Password, when set, overrides any password in
// the URL so that Kubernetes can inject it from a Secret. Username, when
// set, logs in as that Redis ACL user (each bank process has its own, with
// only the keys and commands it needs); empty is Redis's default user.
type Options struct {
	URL       string
	Username  string
	Password  string
	MaxActive int
	// Sentinels (host:port,...) and MasterName, when set, find the primary
	// through Redis Sentinel; URL then gives only the database number.
	Sentinels, MasterName string
	// SentinelUsername and SentinelPassword log in to the Sentinels (not
	// the data nodes), when they require it.
	SentinelUsername, SentinelPassword string
	// Timeout bounds each connect, read and write; 0 is DefaultTimeout.
	Timeout time.Duration
	// Backoff makes a dial after failed ones wait (100ms doubling to 5s),
	// for background processes whose libraries retry in a tight loop
	// (gocraft/work polls every 10ms after an error). The API leaves it
	// off: it answers 503 at once instead.
	Backoff bool
}

// Flags registers --redis-url (described by urlUsage), --redis-username,
// --redis-password, --redis-sentinels, --redis-master-name,
// --redis-sentinel-username, --redis-sentinel-password and --redis-timeout
// on fs, filling o. Parsed with cli.Parse, each can also be set as its
// BANK_* variable, e.g. BANK_REDIS_SENTINELS.
func (o *Options) Flags(fs *flag.FlagSet, urlUsage string) {
	fs.StringVar(&o.URL, "redis-url", "redis://localhost:6379/0", urlUsage)
	fs.StringVar(&o.Username, "redis-username", "", "Redis ACL user to log in as (empty: the default user)")
	fs.StringVar(&o.Password, "redis-password", "", "Redis password (overrides one in the URL; set it from a Secret)")
	fs.StringVar(&o.Sentinels, "redis-sentinels", "", "comma-separated host:port of Redis Sentinels; when set, the primary is the one they name (--redis-url then gives only the database)")
	fs.StringVar(&o.MasterName, "redis-master-name", "bank", "the master's name in Sentinel (with --redis-sentinels)")
	fs.StringVar(&o.SentinelUsername, "redis-sentinel-username", "", "user to log in to the Sentinels as (empty: none or the default user)")
	fs.StringVar(&o.SentinelPassword, "redis-sentinel-password", "", "password of the Sentinels (empty: they require none)")
	fs.DurationVar(&o.Timeout, "redis-timeout", DefaultTimeout, "bound on each Redis connect, read and write: past it the request fails as unavailable (503)")
}

// Validate reports options that cannot work, for a clear start-up error.
func (o Options) Validate() error {
	if o.Timeout < 0 {
		return errors.New("--redis-timeout must not be negative")
	}
	if o.Sentinels == "" {
		return nil
	}
	if o.MasterName == "" {
		return errors.New("--redis-sentinels needs --redis-master-name")
	}
	_, err := sentinel.ParseAddrs(o.Sentinels)
	return err
}

// New returns a pool that waits for a free connection rather than failing
// under load, and checks idle connections before reuse.
func New(o Options) *redis.Pool {
	if o.MaxActive == 0 {
		o.MaxActive = 64
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	s := &state{opts: o, dial: directDialer(o)}
	// How long a connection may sit idle before it is checked: after a
	// failover an idle connection may point at a demoted primary.
	recheck := 30 * time.Second
	if o.Sentinels != "" {
		recheck = time.Second
		addrs, err := sentinel.ParseAddrs(o.Sentinels)
		if err != nil {
			s.dial = func(context.Context) (redis.Conn, string, error) { return nil, "", err }
		} else {
			s.sentinel = sentinelClient(o, addrs)
			s.dial = s.sentinel.Dial
		}
	}
	return &redis.Pool{
		MaxIdle:     o.MaxActive,
		MaxActive:   o.MaxActive,
		Wait:        true,
		IdleTimeout: 4 * time.Minute,
		DialContext: s.dialContext,
		TestOnBorrowContext: func(ctx context.Context, c redis.Conn, t time.Time) error {
			pc, ok := c.(*conn)
			if ok && pc.gen != s.gen.Load() {
				return errStale
			}
			if ok && s.sentinel != nil {
				// The Sentinels moved the primary: retire every connection
				// to the old one, which may not know yet that it is demoted.
				if m := s.master(ctx); m != "" && m != pc.addr {
					s.failed()
					return errStale
				}
			}
			if time.Since(t) < recheck {
				return nil
			}
			if o.Sentinels != "" {
				return sentinel.CheckRole(ctx, c, "master")
			}
			_, err := redis.DoContext(c, ctx, "PING")
			return err
		},
	}
}

// masterRecheck is how old the Sentinels' answer to "who is the master"
// may be when a connection is borrowed: how long after a failover a
// connection to the old primary may still be used.
const masterRecheck = 250 * time.Millisecond

var errStale = errors.New("redispool: connection from before a failure")

// dialOptions are the timeouts and credentials of every data connection.
func dialOptions(o Options) []redis.DialOption {
	return timeoutsAndLogin(o.Timeout, o.Username, o.Password)
}

// timeoutsAndLogin are the options of every connection, to a data node
// or to a Sentinel: timeout for the connect, each read and each write,
// and the login ("" for none).
func timeoutsAndLogin(timeout time.Duration, username, password string) []redis.DialOption {
	opts := []redis.DialOption{
		redis.DialConnectTimeout(timeout),
		redis.DialReadTimeout(timeout),
		redis.DialWriteTimeout(timeout),
	}
	if password != "" {
		opts = append(opts, redis.DialPassword(password))
	}
	if username != "" {
		opts = append(opts, redis.DialUsername(username))
	}
	return opts
}

func directDialer(o Options) func(context.Context) (redis.Conn, string, error) {
	return func(ctx context.Context) (redis.Conn, string, error) {
		c, err := redis.DialURLContext(ctx, o.URL, dialOptions(o)...)
		return c, "", err
	}
}

// sentinelClient dials the master the Sentinels name, keeping URL's
// database and credentials.
func sentinelClient(o Options, addrs []string) *sentinel.Client {
	sopts := timeoutsAndLogin(o.Timeout, o.SentinelUsername, o.SentinelPassword)
	return &sentinel.Client{Addrs: addrs, MasterName: o.MasterName,
		DialSentinel: func(ctx context.Context, addr string) (redis.Conn, error) {
			return redis.DialContext(ctx, "tcp", addr, sopts...)
		},
		DialMaster: func(ctx context.Context, addr string) (redis.Conn, error) {
			u, err := url.Parse(o.URL)
			if err != nil {
				return nil, fmt.Errorf("--redis-url: %v", err)
			}
			u.Host = addr
			return redis.DialURLContext(ctx, u.String(), dialOptions(o)...)
		},
	}
}

// state is what the connections of one pool share: the generation that
// says which connections are still good, and the dial back-off.
type state struct {
	opts     Options
	dial     func(context.Context) (redis.Conn, string, error)
	gen      atomic.Uint64
	sentinel *sentinel.Client // nil without --redis-sentinels

	// The master the Sentinels named last, and whether someone is asking.
	view       atomic.Pointer[masterView]
	refreshing atomic.Bool

	mu       sync.Mutex
	failures int
	next     time.Time
}

func (s *state) dialContext(ctx context.Context) (redis.Conn, error) {
	if s.opts.Backoff {
		if err := s.waitBackoff(ctx); err != nil {
			return nil, err
		}
	}
	gen := s.gen.Load()
	c, addr, err := s.dial(ctx)
	s.dialed(err)
	if err != nil {
		return nil, err
	}
	if s.sentinel != nil {
		s.view.Store(&masterView{addr: addr, at: time.Now()})
	}
	return &conn{Conn: c, s: s, gen: gen, addr: addr}, nil
}

type masterView struct {
	addr string
	at   time.Time
}

// master is the master's address as the Sentinels named it at most
// masterRecheck ago; one borrower at a time asks again, the others use
// the last answer. While no Sentinel answers, the last answer stands:
// the data path may be fine without them.
func (s *state) master(ctx context.Context) string {
	v := s.view.Load()
	if v != nil && time.Since(v.at) < masterRecheck {
		return v.addr
	}
	last := ""
	if v != nil {
		last = v.addr
	}
	if !s.refreshing.CompareAndSwap(false, true) {
		return last
	}
	defer s.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	addr, err := s.sentinel.Master(ctx)
	if err != nil {
		addr = last
	}
	s.view.Store(&masterView{addr: addr, at: time.Now()})
	return addr
}

func (s *state) waitBackoff(ctx context.Context) error {
	s.mu.Lock()
	wait := time.Until(s.next)
	s.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *state) dialed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.failures, s.next = 0, time.Time{}
		return
	}
	s.failures++
	s.next = time.Now().Add(min(100*time.Millisecond<<min(s.failures-1, 6), 5*time.Second))
}

// failed retires every connection dialed so far: one of them met a dead
// or demoted server, so the others (dialed to the same one) are suspect.
func (s *state) failed() { s.gen.Add(1) }

// Ping checks that Redis answers, for readiness probes. A Redis that is
// loading its AOF answers LOADING, so it is not ready yet.
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

// unavailablePrefixes are the error replies of a server that is there but
// cannot serve now; the same request may succeed later or elsewhere.
var unavailablePrefixes = []string{"LOADING", "BUSY", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN", "MISCONF"}

// IsUnavailableReply reports whether an error reply says the server
// cannot serve now, as opposed to refusing the command itself.
func IsUnavailableReply(reply string) bool {
	for _, p := range unavailablePrefixes {
		if strings.HasPrefix(reply, p+" ") || reply == p {
			return true
		}
	}
	return false
}
