// Package sentinel finds the Redis primary through Redis Sentinel and
// dials it. redigo has no Sentinel client, and no maintained one is
// available as a module here, so this is the small part the bank needs:
// ask the Sentinels in turn where the master is, connect, and hand out the
// connection only once the server itself confirms ROLE = master (a
// Sentinel that has not yet seen a failover, or a demoted primary, must
// never receive a write).
package sentinel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
)

// ErrNotMaster is returned when the server a Sentinel named is not (or no
// longer) the master. Callers treat it like an unreachable Redis.
var ErrNotMaster = errors.New("sentinel: the server named as master is not the master")

// ErrNoMaster is returned when no Sentinel named a master that confirmed
// its role; it wraps each Sentinel's error.
var ErrNoMaster = errors.New("sentinel: no master found")

// Dialer connects to one address (a Sentinel's or a data node's) with the
// caller's timeouts and credentials.
type Dialer func(ctx context.Context, addr string) (redis.Conn, error)

// Client finds the master named MasterName through Sentinels at Addrs.
type Client struct {
	Addrs      []string // host:port of each Sentinel
	MasterName string
	// DialSentinel connects to a Sentinel; DialMaster to a data node.
	DialSentinel, DialMaster Dialer

	mu    sync.Mutex
	order []string               // Addrs, the last Sentinel that answered first
	pools map[string]*redis.Pool // by Sentinel address
}

// ParseAddrs splits a comma-separated host:port list, rejecting entries
// without a port so that a typo fails at start-up, not at the first dial.
func ParseAddrs(list string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("sentinel address %q: %v", a, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errors.New("no sentinel addresses")
	}
	return out, nil
}

// MasterAddr asks one Sentinel for the master's host:port.
func (c *Client) MasterAddr(ctx context.Context, sentinel string) (string, error) {
	conn, err := c.conn(ctx, sentinel)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	hp, err := redis.Strings(redis.DoContext(conn, ctx, "SENTINEL", "get-master-addr-by-name", c.MasterName))
	if err == redis.ErrNil {
		return "", fmt.Errorf("sentinel %s does not know master %q", sentinel, c.MasterName)
	}
	if err != nil {
		return "", err
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("sentinel %s: unexpected reply %q", sentinel, hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Dial returns a connection to the current master and its address: each
// Sentinel in turn (the last one that helped first) names it, and the
// first named server that confirms ROLE = master wins, if the Sentinel
// still names it afterwards. The second question closes a race: a dial
// that started before a failover to a primary that then hung (SIGSTOP, a
// long pause) gets ROLE = master when it wakes up, but the Sentinels have
// moved on, and writes to it would be lost when it is demoted.
func (c *Client) Dial(ctx context.Context) (redis.Conn, string, error) {
	var errs []error
	for _, s := range c.sentinels() {
		addr, err := c.MasterAddr(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		conn, err := c.DialMaster(ctx, addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("master %s (from sentinel %s): %w", addr, s, err))
			continue
		}
		err = CheckRole(ctx, conn, "master")
		if err == nil {
			if again, e := c.MasterAddr(ctx, s); e == nil && again != addr {
				err = fmt.Errorf("%w: sentinel %s now names %s", ErrNotMaster, s, again)
			}
		}
		if err != nil {
			conn.Close()
			errs = append(errs, fmt.Errorf("%s (from sentinel %s): %w", addr, s, err))
			continue
		}
		c.prefer(s)
		return conn, addr, nil
	}
	return nil, "", fmt.Errorf("%w for %q: %w", ErrNoMaster, c.MasterName, errors.Join(errs...))
}

// Master asks the Sentinels in turn for the master's address; the first
// answer counts.
func (c *Client) Master(ctx context.Context) (string, error) {
	var errs []error
	for _, s := range c.sentinels() {
		addr, err := c.MasterAddr(ctx, s)
		if err == nil {
			c.prefer(s)
			return addr, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("%w for %q: %w", ErrNoMaster, c.MasterName, errors.Join(errs...))
}

// ErrUnconfirmed is returned by Confirm when the Sentinels do not all
// agree, now, that a server is the master and healthy.
var ErrUnconfirmed = errors.New("sentinel: the master is not confirmed")

// Confirm asks every Sentinel at once about the master and succeeds only
// if a majority answers and every answer names addr, with no failover
// under way (no s_down, o_down or failover_in_progress flag). A write
// confirmed by WAIT on a primary counts only then: a primary that comes
// back during a failover (restarted, or resumed after a stall) takes
// writes and even replicates them for a moment, until the Sentinels
// finish promoting another node and throw them away.
func (c *Client) Confirm(ctx context.Context, addr string) error {
	addrs := c.sentinels()
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, s := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.confirmOne(ctx, s, addr)
		}()
	}
	wg.Wait()
	answered := 0
	for _, err := range errs {
		switch {
		case err == nil:
			answered++
		case errors.Is(err, ErrUnconfirmed):
			return err
		}
	}
	if answered < len(addrs)/2+1 {
		return fmt.Errorf("%w: %d of %d Sentinels answered: %w", ErrUnconfirmed, answered, len(addrs), errors.Join(errs...))
	}
	return nil
}

func (c *Client) confirmOne(ctx context.Context, sentinel, addr string) error {
	conn, err := c.conn(ctx, sentinel)
	if err != nil {
		return err
	}
	defer conn.Close()
	m, err := redis.StringMap(redis.DoContext(conn, ctx, "SENTINEL", "MASTER", c.MasterName))
	if err != nil {
		return err
	}
	named := net.JoinHostPort(m["ip"], m["port"])
	flags := strings.Split(m["flags"], ",")
	for _, bad := range []string{"s_down", "o_down", "failover_in_progress", "disconnected"} {
		if slices.Contains(flags, bad) {
			return fmt.Errorf("%w: sentinel %s flags master %s %s", ErrUnconfirmed, sentinel, named, m["flags"])
		}
	}
	if named != addr {
		return fmt.Errorf("%w: sentinel %s names %s as master, not %s", ErrUnconfirmed, sentinel, named, addr)
	}
	return nil
}

// conn is a pooled connection to one Sentinel: Confirm runs for every
// confirmed write, so it must not open a connection each time.
func (c *Client) conn(ctx context.Context, sentinel string) (redis.Conn, error) {
	c.mu.Lock()
	if c.pools == nil {
		c.pools = map[string]*redis.Pool{}
	}
	p := c.pools[sentinel]
	if p == nil {
		// As many idle as a busy API has writes in flight, so that the
		// confirmations do not open a connection each.
		p = &redis.Pool{MaxIdle: 64, IdleTimeout: time.Minute,
			DialContext: func(ctx context.Context) (redis.Conn, error) { return c.DialSentinel(ctx, sentinel) }}
		c.pools[sentinel] = p
	}
	c.mu.Unlock()
	return p.GetContext(ctx)
}

// Close closes the pooled Sentinel connections.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pools {
		p.Close()
	}
	c.pools = nil
}

func (c *Client) sentinels() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.order == nil {
		c.order = append([]string(nil), c.Addrs...)
	}
	return append([]string(nil), c.order...)
}

func (c *Client) prefer(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 || c.order[0] == s {
		return
	}
	out := []string{s}
	for _, a := range c.order {
		if a != s {
			out = append(out, a)
		}
	}
	c.order = out
}

// Role is the server's answer to ROLE on conn: "master", "slave" or
// "sentinel".
func Role(ctx context.Context, conn redis.Conn) (string, error) {
	reply, err := redis.Values(redis.DoContext(conn, ctx, "ROLE"))
	if err != nil {
		return "", err
	}
	if len(reply) == 0 {
		return "", errors.New("sentinel: empty ROLE reply")
	}
	return redis.String(reply[0], nil)
}

// CheckRole fails with ErrNotMaster (for want "master") unless ROLE on
// conn reports want.
func CheckRole(ctx context.Context, conn redis.Conn, want string) error {
	role, err := Role(ctx, conn)
	if err != nil {
		return err
	}
	if role != want {
		if want == "master" {
			return fmt.Errorf("%w (ROLE %s)", ErrNotMaster, role)
		}
		return fmt.Errorf("sentinel: ROLE %s, want %s", role, want)
	}
	return nil
}
