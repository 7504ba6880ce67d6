package redispool

import (
	"errors"
	"flag"
	"time"
)

// Ack is how many replicas must confirm a money-moving write (Redis WAIT)
// before it is acknowledged, and how long to wait for them. Replicas 0
// acknowledges what the primary applied (a single redis-server).
type Ack struct {
	Replicas int
	Timeout  time.Duration
}

// DefaultAckTimeout is well inside DefaultTimeout, the read timeout that
// WAIT's reply must beat.
const DefaultAckTimeout = time.Second

// Flags registers --redis-min-replicas-ack and --redis-ack-timeout.
func (a *Ack) Flags(fs *flag.FlagSet) {
	fs.IntVar(&a.Replicas, "redis-min-replicas-ack", 0, "replicas that must confirm a money-moving write (Redis WAIT) before it is acknowledged; else 503, outcome unknown (0: no WAIT, for a single redis-server)")
	fs.DurationVar(&a.Timeout, "redis-ack-timeout", DefaultAckTimeout, "how long WAIT may take (below --redis-timeout)")
}

// Validate checks a against the pool's timeout, which bounds WAIT's reply.
func (a Ack) Validate(o Options) error {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	switch {
	case a.Replicas < 0:
		return errors.New("--redis-min-replicas-ack must not be negative")
	case a.Replicas > 0 && (a.Timeout <= 0 || a.Timeout >= timeout):
		return errors.New("--redis-ack-timeout must be positive and below --redis-timeout")
	}
	return nil
}
