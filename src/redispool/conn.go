package redispool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
)

// conn is a pooled connection that retires itself and its generation
// when the server stops being usable: a transport error, or a reply that
// says this server cannot take writes now (READONLY after a failover,
// NOREPLICAS from an isolated primary, LOADING after a restart).
type conn struct {
	redis.Conn
	s      *state
	gen    uint64
	addr   string // the master's address as the Sentinels named it (sentinel mode)
	broken atomic.Pointer[error]

	// The commands sent and not yet answered: to know which reply is
	// WAIT's (sentinel mode only).
	mu      sync.Mutex
	pending []string
}

// confirm turns WAIT's reply into ErrNotReplicated unless the Sentinels
// confirm, after it, that this connection's server is still the master
// and no failover is under way (sentinel.Client.Confirm says why).
func (c *conn) confirm(ctx context.Context, cmd string, err error) error {
	if err != nil || c.s.sentinel == nil || !strings.EqualFold(cmd, "WAIT") {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.opts.Timeout)
	defer cancel()
	if err := c.s.sentinel.Confirm(ctx, c.addr); err != nil {
		c.s.failed()
		return fmt.Errorf("%w: %w", ErrNotReplicated, err)
	}
	return nil
}

// sent and received keep track of which reply belongs to which command.
func (c *conn) sent(cmd string) {
	if c.s.sentinel == nil {
		return
	}
	c.mu.Lock()
	c.pending = append(c.pending, cmd)
	c.mu.Unlock()
}

func (c *conn) received() (cmd string) {
	if c.s.sentinel == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		cmd, c.pending = c.pending[0], c.pending[1:]
	}
	return cmd
}

// do runs a Do variant: it flushes and reads whatever was pending too.
func (c *conn) do(ctx context.Context, cmd string, f func() (any, error)) (any, error) {
	if c.s.sentinel != nil {
		c.mu.Lock()
		c.pending = nil
		c.mu.Unlock()
	}
	r, err := f()
	err = c.confirm(ctx, cmd, err)
	return r, c.check(err)
}

func (c *conn) check(err error) error {
	if err == nil || !Unavailable(err) || errors.Is(err, context.Canceled) {
		return err
	}
	var re redis.Error
	if errors.As(err, &re) {
		c.broken.CompareAndSwap(nil, &err)
	}
	c.s.failed()
	return err
}

func (c *conn) Err() error {
	if e := c.broken.Load(); e != nil {
		return *e
	}
	return c.Conn.Err()
}

func (c *conn) Do(cmd string, args ...any) (any, error) {
	return c.do(context.Background(), cmd, func() (any, error) { return c.Conn.Do(cmd, args...) })
}

func (c *conn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	return c.do(ctx, cmd, func() (any, error) { return redis.DoContext(c.Conn, ctx, cmd, args...) })
}

func (c *conn) DoWithTimeout(timeout time.Duration, cmd string, args ...any) (any, error) {
	return c.do(context.Background(), cmd, func() (any, error) { return redis.DoWithTimeout(c.Conn, timeout, cmd, args...) })
}

func (c *conn) Send(cmd string, args ...any) error {
	err := c.Conn.Send(cmd, args...)
	if err == nil {
		c.sent(cmd)
	}
	return c.check(err)
}

func (c *conn) Flush() error { return c.check(c.Conn.Flush()) }

func (c *conn) receive(ctx context.Context, f func() (any, error)) (any, error) {
	r, err := f()
	err = c.confirm(ctx, c.received(), err)
	return r, c.check(err)
}

func (c *conn) Receive() (any, error) {
	return c.receive(context.Background(), c.Conn.Receive)
}

func (c *conn) ReceiveContext(ctx context.Context) (any, error) {
	return c.receive(ctx, func() (any, error) { return redis.ReceiveContext(c.Conn, ctx) })
}

func (c *conn) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return c.receive(context.Background(), func() (any, error) { return redis.ReceiveWithTimeout(c.Conn, timeout) })
}
