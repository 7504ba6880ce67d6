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
	"strings"
	"sync"

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
	order []string // Addrs, the last Sentinel that answered first
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
	conn, err := c.DialSentinel(ctx, sentinel)
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

// Dial returns a connection to the current master: each Sentinel in turn
// (the last one that helped first) names it, and the first named server
// that confirms ROLE = master wins.
func (c *Client) Dial(ctx context.Context) (redis.Conn, error) {
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
		if err := CheckRole(ctx, conn, "master"); err != nil {
			conn.Close()
			errs = append(errs, fmt.Errorf("%s (from sentinel %s): %w", addr, s, err))
			continue
		}
		c.prefer(s)
		return conn, nil
	}
	return nil, fmt.Errorf("%w for %q: %w", ErrNoMaster, c.MasterName, errors.Join(errs...))
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

// CheckRole fails with ErrNotMaster (for want "master") unless ROLE on
// conn reports want.
func CheckRole(ctx context.Context, conn redis.Conn, want string) error {
	reply, err := redis.Values(redis.DoContext(conn, ctx, "ROLE"))
	if err != nil {
		return err
	}
	if len(reply) == 0 {
		return errors.New("sentinel: empty ROLE reply")
	}
	role, err := redis.String(reply[0], nil)
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
