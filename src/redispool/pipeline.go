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
	"github.com/prometheus/client_golang/prometheus"
)

// Pipeline is group commit for Redis: the commands of concurrent callers
// go out together, in one write on one pooled connection, and their
// replies come back in one read, each to its caller. On a busy API that
// turns many small writes and reads (each a system call and a wake-up of
// Redis) into few; the profile of a transfer under load spent a fifth of
// the API's CPU in those system calls. Every caller's commands still run
// on their own in Redis (a script stays one atomic step) and each gets
// its own replies and errors.
//
// A batch is sent while earlier ones are still being answered, up to
// InFlight of them; meanwhile new callers queue up and form the next
// batch, so batches grow with the load and a lone caller waits for no
// one. Connections come from the pool, so its checks (generation after a
// failure, the master the Sentinels name, timeouts) apply to every batch.
//
// A Pipeline's connections (Conn) carry no state between commands: no
// MULTI/EXEC, WATCH, SELECT or blocking command; Send refuses those.
type Pipeline struct {
	pool     *redis.Pool
	timeout  time.Duration
	max      int
	queue    chan *unit
	inflight chan struct{}
	stop     chan struct{}
	exited   chan struct{} // closed when run has returned
	close    sync.Once

	// How many writes carried how many callers' commands: their ratio is
	// the grouping the load achieves (Stats).
	batches, callers atomic.Int64
}

// Stats returns how many batches the pipeline has written and how many
// callers' units they carried.
func (p *Pipeline) Stats() (batches, callers int64) { return p.batches.Load(), p.callers.Load() }

// DefaultBatch and DefaultInFlight bound a Pipeline's batches: how many
// callers' commands share one write, and how many writes await replies.
const (
	DefaultBatch    = 32
	DefaultInFlight = 4
)

// NewPipeline starts a Pipeline on pool; Close stops it. timeout (0:
// DefaultTimeout) bounds the wait for a pooled connection, as the pool's
// own timeouts bound the write and the replies.
func NewPipeline(pool *redis.Pool, timeout time.Duration) *Pipeline {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	p := &Pipeline{pool: pool, timeout: timeout, max: DefaultBatch, queue: make(chan *unit, 4*DefaultBatch),
		inflight: make(chan struct{}, DefaultInFlight), stop: make(chan struct{}), exited: make(chan struct{})}
	go p.run()
	return p
}

// Close stops sending; callers still queued get ErrPipelineClosed.
// Batches already sent are answered.
func (p *Pipeline) Close() {
	p.close.Do(func() { close(p.stop) })
	<-p.exited
}

// ErrPipelineClosed is a command given to a Pipeline after Close.
var ErrPipelineClosed = errors.New("redispool: pipeline closed")

// Conn returns a connection whose commands go through the pipeline. It
// is for one caller at a time, like any redis.Conn; Close releases it.
func (p *Pipeline) Conn() redis.Conn { return &pipeConn{p: p} }

type command struct {
	name string
	args []any
}

// unit is what one caller flushed: its commands and, once done is
// closed, their replies (an error reply is its errs entry) or err, a
// failure of the connection that none of them outlived.
type unit struct {
	ctx     context.Context
	cmds    []command
	replies []any
	errs    []error
	err     error
	done    chan struct{}
	shared  bool        // its final WAIT is the batch's shared one
	taken   atomic.Bool // run has dequeued it: it will be answered or failed
}

func (u *unit) fail(err error) {
	u.err = err
	close(u.done)
}

func (p *Pipeline) run() {
	defer close(p.exited)
	batch := make([]*unit, 0, p.max)
	for {
		select {
		case <-p.stop:
			p.failQueued(ErrPipelineClosed)
			return
		case u := <-p.queue:
			u.taken.Store(true)
			batch = append(batch[:0], u)
		}
		if err := p.slot(); err != nil {
			// Stopped, or every slot waits on a Redis that does not
			// answer: the callers queued behind them fail now (an
			// unavailable error, a 503) rather than each wait for every
			// batch before them to time out too.
			batch[0].fail(err)
			p.failQueued(err)
			if err == ErrPipelineClosed {
				return
			}
			continue
		}
		// Whoever queued while a slot was taken joins this batch.
	more:
		for len(batch) < p.max {
			select {
			case u := <-p.queue:
				u.taken.Store(true)
				batch = append(batch, u)
			default:
				break more
			}
		}
		p.send(batch)
	}
}

// slot takes one of the InFlight slots within the timeout; the error
// says why not.
func (p *Pipeline) slot() error {
	select {
	case p.inflight <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case p.inflight <- struct{}{}:
		return nil
	case <-p.stop:
		return ErrPipelineClosed
	case <-t.C:
		return fmt.Errorf("%w: every pipeline write awaits Redis", redis.ErrPoolExhausted)
	}
}

// failQueued fails the callers queued now with err.
func (p *Pipeline) failQueued(err error) {
	for {
		select {
		case u := <-p.queue:
			u.taken.Store(true)
			u.fail(err)
		default:
			return
		}
	}
}

// send writes batch on one pooled connection and hands it to a receiver.
// A caller that gave up before its turn is not sent.
//
// Callers whose commands end in the same WAIT (a money-moving write that
// replicas must confirm: luascript.Run) share one: it goes once, after
// all their commands, and its reply is each one's. WAIT confirms every
// write made before it on its connection, so one confirms them all; on
// its own each would hold the connection, and the callers behind it,
// for a replication round trip.
func (p *Pipeline) send(batch []*unit) {
	live := make([]*unit, 0, len(batch))
	for _, u := range batch {
		if err := u.ctx.Err(); err != nil {
			u.fail(err)
			continue
		}
		live = append(live, u)
	}
	if len(live) == 0 {
		<-p.inflight
		return
	}
	var wait *command
	for _, u := range live {
		u.shared = false
		if last := len(u.cmds) - 1; strings.EqualFold(u.cmds[last].name, "WAIT") {
			if wait == nil {
				wait = &u.cmds[last]
			}
			u.shared = fmt.Sprint(u.cmds[last].args) == fmt.Sprint(wait.args)
		}
	}
	// Not one caller's context: the batch is everyone's.
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	c, err := p.pool.GetContext(ctx)
	cancel()
	if err == nil {
	write:
		for _, u := range live {
			for _, cmd := range u.own() {
				if err = c.Send(cmd.name, cmd.args...); err != nil {
					break write
				}
			}
		}
		if err == nil && wait != nil {
			err = c.Send(wait.name, wait.args...)
		}
		if err == nil {
			err = c.Flush()
		}
	}
	if err != nil {
		for _, u := range live {
			u.fail(err)
		}
		if c != nil {
			c.Close()
		}
		<-p.inflight
		return
	}
	p.batches.Add(1)
	p.callers.Add(int64(len(live)))
	go p.receive(c, live, wait != nil)
}

// own is what a unit sends itself: its commands, but for a shared WAIT.
func (u *unit) own() []command {
	if u.shared {
		return u.cmds[:len(u.cmds)-1]
	}
	return u.cmds
}

// receive reads the replies of a batch in order, and then the shared
// WAIT's when there is one. A reply that is an error (a refusal, or a
// WAIT that was not confirmed) is that command's; any other error means
// the connection is gone, and every command still unanswered fails with
// it: its outcome is unknown, as it would be on a connection of its own.
func (p *Pipeline) receive(c redis.Conn, batch []*unit, wait bool) {
	defer func() { <-p.inflight }()
	defer c.Close()
	var broken error
	var sharing []*unit
	for _, u := range batch {
		if broken != nil {
			u.fail(broken)
			continue
		}
		u.replies, u.errs = make([]any, len(u.cmds)), make([]error, len(u.cmds))
		for i := range u.own() {
			r, err := c.Receive()
			if err != nil && !commandError(err) {
				broken = err
				break
			}
			u.replies[i], u.errs[i] = r, err
		}
		switch {
		case broken != nil:
			u.fail(broken)
		case u.shared:
			sharing = append(sharing, u)
		default:
			close(u.done)
		}
	}
	if !wait {
		return
	}
	var r any
	err := broken
	if err == nil {
		r, err = c.Receive()
	}
	for _, u := range sharing {
		if err != nil && !commandError(err) {
			u.fail(err)
			continue
		}
		last := len(u.cmds) - 1
		u.replies[last], u.errs[last] = r, err
		close(u.done)
	}
}

// commandError reports whether err answers one command (the connection
// still works) rather than ending the connection.
func commandError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) || errors.Is(err, ErrNotReplicated)
}

// pipeConn is a redis.Conn (with contexts) on a Pipeline: Send collects
// commands, Flush hands them to the pipeline as one unit, Receive
// returns their replies in order.
type pipeConn struct {
	p       *Pipeline
	pending []command
	units   []*unit
	next    int // the next reply of units[0]
	err     error
}

// stateful are the commands a shared connection cannot carry.
var stateful = map[string]bool{"MULTI": true, "EXEC": true, "DISCARD": true, "WATCH": true, "UNWATCH": true, "SELECT": true,
	"SUBSCRIBE": true, "PSUBSCRIBE": true, "SSUBSCRIBE": true, "MONITOR": true, "CLIENT": true, "AUTH": true, "HELLO": true, "RESET": true,
	"BLPOP": true, "BRPOP": true, "BLMOVE": true, "BRPOPLPUSH": true, "BZPOPMIN": true, "BZPOPMAX": true, "BLMPOP": true, "BZMPOP": true,
	"XREAD": true, "XREADGROUP": true}

func (c *pipeConn) Send(cmd string, args ...any) error {
	if c.err != nil {
		return c.err
	}
	if stateful[strings.ToUpper(cmd)] {
		return fmt.Errorf("redispool: %s cannot go through a pipeline", cmd)
	}
	c.pending = append(c.pending, command{name: cmd, args: args})
	return nil
}

func (c *pipeConn) Flush() error { return c.flush(context.Background()) }

func (c *pipeConn) flush(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	if len(c.pending) == 0 {
		return nil
	}
	u := &unit{ctx: ctx, cmds: c.pending, done: make(chan struct{})}
	c.pending = nil
	select {
	case c.p.queue <- u:
	case <-ctx.Done():
		c.err = ctx.Err()
		return c.err
	case <-c.p.stop:
		c.err = ErrPipelineClosed
		return c.err
	}
	c.units = append(c.units, u)
	return nil
}

func (c *pipeConn) Receive() (any, error) { return c.ReceiveContext(context.Background()) }

// ReceiveContext waits for the next reply. A caller whose context ends
// stops waiting; the pipeline still reads the reply and drops it.
func (c *pipeConn) ReceiveContext(ctx context.Context) (any, error) {
	if c.err != nil {
		return nil, c.err
	}
	if len(c.units) == 0 {
		return nil, errors.New("redispool: receive without a flushed command")
	}
	u := c.units[0]
	select {
	case <-u.done:
	case <-ctx.Done():
		c.err = ctx.Err()
		return nil, c.err
	case <-c.p.exited:
		// Queued as the pipeline closed: if run never took it, nobody will
		// answer it, and it was never sent.
		if !u.taken.Load() {
			c.err = ErrPipelineClosed
			return nil, c.err
		}
		select {
		case <-u.done:
		case <-ctx.Done():
			c.err = ctx.Err()
			return nil, c.err
		}
	}
	if u.err != nil {
		c.err = u.err
		return nil, c.err
	}
	r, err := u.replies[c.next], u.errs[c.next]
	if c.next++; c.next == len(u.cmds) {
		c.units, c.next = c.units[1:], 0
	}
	return r, err
}

func (c *pipeConn) Do(cmd string, args ...any) (any, error) {
	return c.DoContext(context.Background(), cmd, args...)
}

// DoContext sends cmd (none when empty), flushes, and reads every reply
// outstanding, as redigo's Do does: it returns the last reply and the
// first error reply.
func (c *pipeConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	if cmd != "" {
		if err := c.Send(cmd, args...); err != nil {
			return nil, err
		}
	}
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	var reply any
	var first error
	for len(c.units) > 0 {
		r, err := c.ReceiveContext(ctx)
		if err != nil && !commandError(err) {
			return nil, err
		}
		if err != nil && first == nil {
			first = err
		}
		reply = r
	}
	return reply, first
}

func (c *pipeConn) Err() error { return c.err }

// Close releases the connection; replies still due are dropped.
func (c *pipeConn) Close() error {
	if c.err == nil {
		c.err = errors.New("redigo: closed")
	}
	return nil
}

var (
	writesDesc   = prometheus.NewDesc("bank_redis_group_commit_writes_total", "Writes to Redis that carried requests' money-moving scripts (group commit).", nil, nil)
	requestsDesc = prometheus.NewDesc("bank_redis_group_commit_requests_total", "Requests whose scripts those writes carried; divided by the writes, how many shared each.", nil, nil)
)

// Describe and Collect export Stats as Prometheus counters.
func (p *Pipeline) Describe(ch chan<- *prometheus.Desc) { ch <- writesDesc; ch <- requestsDesc }

func (p *Pipeline) Collect(ch chan<- prometheus.Metric) {
	b, c := p.Stats()
	ch <- prometheus.MustNewConstMetric(writesDesc, prometheus.CounterValue, float64(b))
	ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(c))
}
