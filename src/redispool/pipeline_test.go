package redispool_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redistest"
)

func pipeline(t *testing.T, srv *redistest.Server) (*redis.Pool, *redispool.Pipeline) {
	t.Helper()
	pool := redispool.New(redispool.Options{URL: srv.URL, Timeout: timeout})
	p := redispool.NewPipeline(pool, timeout)
	t.Cleanup(func() { p.Close(); pool.Close() })
	return pool, p
}

// Concurrent callers share writes, and each gets exactly its own replies:
// a caller's INCRs count 1, 2, 3... on its own key, and its two-command
// units (Send, Send, Flush, Receive, Receive) come back in order.
func TestPipelineGroupsCallersAndAnswersEachItsOwn(t *testing.T) {
	srv := redistest.Start(t)
	_, p := pipeline(t, srv)
	const callers, rounds = 48, 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("pipe:", i)
			for n := 1; n <= rounds; n++ {
				c := p.Conn()
				got, err := redis.Int(c.Do("INCR", key))
				if err != nil || got != 2*n-1 {
					errs <- fmt.Errorf("caller %d: INCR = %d, %v; want %d", i, got, err, 2*n-1)
					c.Close()
					return
				}
				c.Send("INCR", key)
				c.Send("GET", key)
				if err := c.Flush(); err != nil {
					errs <- err
					return
				}
				a, err1 := redis.Int(c.Receive())
				b, err2 := redis.Int(c.Receive())
				c.Close()
				if err1 != nil || err2 != nil || a != 2*n || b != 2*n {
					errs <- fmt.Errorf("caller %d: INCR, GET = %d, %d (%v, %v); want %d twice", i, a, b, err1, err2, 2*n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	batches, units := p.Stats()
	t.Logf("%d callers' units in %d writes (%.1f per write)", units, batches, float64(units)/float64(batches))
	if units != 2*callers*rounds {
		t.Errorf("the pipeline carried %d units, want %d", units, 2*callers*rounds)
	}
	if batches >= units {
		t.Errorf("%d units took %d writes: concurrent callers did not share any", units, batches)
	}
}

// An error reply is its command's: the caller gets it, the other commands
// of the same write are answered normally.
func TestPipelineErrorReplyStaysWithItsCaller(t *testing.T) {
	srv := redistest.Start(t)
	_, p := pipeline(t, srv)
	setup := p.Conn()
	if _, err := setup.Do("SET", "pipe:text", "not a number"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, ok := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.Conn()
			defer c.Close()
			key := "pipe:text"
			if i%2 == 0 {
				key = fmt.Sprint("pipe:n", i)
			}
			_, err := c.Do("INCR", key)
			var re redis.Error
			mu.Lock()
			defer mu.Unlock()
			switch {
			case key == "pipe:text" && errors.As(err, &re):
				refused++
			case key != "pipe:text" && err == nil:
				ok++
			default:
				t.Errorf("INCR %s: %v", key, err)
			}
			if err := c.Err(); err != nil {
				t.Errorf("an error reply broke the connection: %v", err)
			}
		}()
	}
	wg.Wait()
	if refused != 20 || ok != 20 {
		t.Errorf("%d refused and %d answered, want 20 and 20", refused, ok)
	}
}

// A script goes through the pipeline like through a pooled connection,
// including redigo's EVAL fallback when Redis does not know it yet.
func TestPipelineRunsScripts(t *testing.T) {
	srv := redistest.Start(t)
	_, p := pipeline(t, srv)
	s := redis.NewScript(1, "return redis.call('INCRBY', KEYS[1], ARGV[1])")
	c := p.Conn()
	defer c.Close()
	if _, err := c.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	for want := 5; want <= 10; want += 5 {
		if got, err := redis.Int(s.DoContext(context.Background(), c, "pipe:s", 5)); err != nil || got != want {
			t.Fatalf("script = %d, %v; want %d", got, err, want)
		}
	}
}

// Commands that change a connection's state cannot share one.
func TestPipelineRefusesStatefulCommands(t *testing.T) {
	srv := redistest.Start(t)
	_, p := pipeline(t, srv)
	for _, cmd := range []string{"MULTI", "watch", "SELECT", "SUBSCRIBE", "BLPOP", "XREAD"} {
		c := p.Conn()
		if _, err := c.Do(cmd, "x"); err == nil {
			t.Errorf("%s went through the pipeline", cmd)
		}
		c.Close()
	}
}

// A paused or killed Redis fails every waiting caller within the
// timeout with an error Unavailable recognises (the API's fast 503), and
// the pipeline works again once Redis is back.
func TestPipelineFailsFastWhenRedisIsAway(t *testing.T) {
	srv := redistest.Start(t)
	_, p := pipeline(t, srv)
	do := func() error {
		c := p.Conn()
		defer c.Close()
		_, err := c.Do("INCR", "pipe:away")
		return err
	}
	if err := do(); err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"pause", "kill"} {
		if fault == "pause" {
			if err := srv.Pause(); err != nil {
				t.Fatal(err)
			}
		} else {
			srv.Kill()
		}
		start := time.Now()
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := do()
				if err == nil || !redispool.Unavailable(err) {
					t.Errorf("%s: %v, want an unavailable error", fault, err)
				}
			}()
		}
		wg.Wait()
		if took := time.Since(start); took > 2*timeout+slack {
			t.Errorf("%s: callers waited %s with a %s timeout", fault, took, timeout)
		}
		if fault == "pause" {
			if err := srv.Resume(); err != nil {
				t.Fatal(err)
			}
		} else if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for do() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the pipeline did not recover within 20s", fault)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// A caller whose context ends stops waiting at once; after Close no
// command is taken.
func TestPipelineContextAndClose(t *testing.T) {
	srv := redistest.Start(t)
	_, p := pipeline(t, srv)
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := p.Conn().(redis.ConnWithContext)
	start := time.Now()
	if _, err := c.DoContext(ctx, "PING"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DoContext on a paused Redis with a 50ms context: %v", err)
	}
	if took := time.Since(start); took > timeout {
		t.Errorf("the caller waited %s for a 50ms context", took)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := p.Conn().Do("PING"); !errors.Is(err, redispool.ErrPipelineClosed) {
		t.Errorf("after Close: %v, want ErrPipelineClosed", err)
	}
}

// Callers whose commands end in the same WAIT share one per write: each
// still gets WAIT's answer (here: 1 replica), every write is on the
// replica, and Redis ran fewer WAITs than there were callers.
func TestPipelineSharesOneWaitPerWrite(t *testing.T) {
	srv := redistest.Start(t)
	replica := srv.Replica(t)
	// WAIT's own timeout stays below the read timeout, as
	// redispool.Ack.Validate demands of the real flags.
	pool := redispool.New(redispool.Options{URL: srv.URL, Timeout: 3 * time.Second})
	p := redispool.NewPipeline(pool, 3*time.Second)
	t.Cleanup(func() { p.Close(); pool.Close() })
	const callers, rounds = 32, 50
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("pipe:w", i)
			for n := 1; n <= rounds; n++ {
				c := p.Conn()
				c.Send("INCR", key)
				c.Send("WAIT", 1, 2000)
				err := c.Flush()
				v, err1 := redis.Int(c.Receive())
				acks, err2 := redis.Int(c.Receive())
				c.Close()
				if err != nil || err1 != nil || err2 != nil || v != n || acks != 1 {
					t.Errorf("caller %d round %d: INCR = %d, WAIT = %d (%v, %v, %v)", i, n, v, acks, err, err1, err2)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Acknowledged by WAIT means on the replica already.
	rc, err := redis.Dial("tcp", replica.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for i := range callers {
		if v, err := redis.Int(rc.Do("GET", fmt.Sprint("pipe:w", i))); err != nil || v != rounds {
			t.Errorf("replica has pipe:w%d = %d (%v), want %d", i, v, err, rounds)
		}
	}
	pc, err := redis.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	stats, err := redis.String(pc.Do("INFO", "commandstats"))
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	for line := range strings.SplitSeq(stats, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_wait:calls="); ok {
			waits, _ = strconv.Atoi(rest[:strings.Index(rest, ",")])
		}
	}
	t.Logf("%d callers' WAITs in %d", callers*rounds, waits)
	if waits == 0 || waits >= callers*rounds {
		t.Errorf("Redis ran %d WAITs for %d callers: none were shared", waits, callers*rounds)
	}
}
