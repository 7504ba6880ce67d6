package redispool_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redisproc"
	"github.com/kubebank/kubebank/src/redistest"
)

// timeout is the pools' bound in these tests; slack is what a loaded
// machine may add to it.
const timeout, slack = 300 * time.Millisecond, 2 * time.Second

// set writes through the pool; every failure must be one Unavailable
// recognises, and come within the bound.
func set(t *testing.T, p *redis.Pool, key string) error {
	t.Helper()
	start := time.Now()
	c, err := p.GetContext(context.Background())
	if err == nil {
		_, err = c.Do("SET", key, "1")
		c.Close()
	}
	if took := time.Since(start); took > 2*timeout+slack {
		t.Errorf("SET took %s with a %s timeout", took, timeout)
	}
	if err != nil && !redispool.Unavailable(err) {
		t.Errorf("SET failed with %v, which Unavailable does not recognise", err)
	}
	return err
}

// untilOK retries until a write succeeds, failing the test after 20s.
func untilOK(t *testing.T, p *redis.Pool, key string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for failures := 0; ; failures++ {
		if set(t, p, key) == nil {
			return failures
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not recover within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A paused Redis (SIGSTOP) is an error within the timeout, not a hang;
// once it continues the same pool works again.
func TestPausedRedisFailsFastAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	p := redispool.New(redispool.Options{URL: srv.URL, Timeout: timeout})
	defer p.Close()
	if err := set(t, p, "k"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := set(t, p, fmt.Sprint("k", i)); err == nil {
			t.Fatal("a write to a paused Redis succeeded")
		}
	}
	if err := redispool.Ping(context.Background(), p); err == nil || !redispool.Unavailable(err) {
		t.Errorf("Ping of a paused Redis: %v, want an unavailable error", err)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	untilOK(t, p, "k")
}

// After Redis is killed and restarted the pool drops its dead
// connections: at most one request finds a dead one, not one per
// pooled connection.
func TestKilledRedisFailsFastAndPoolDrains(t *testing.T) {
	srv := redistest.Start(t)
	p := redispool.New(redispool.Options{URL: srv.URL, Timeout: timeout})
	defer p.Close()
	// Fill the pool with 8 idle connections.
	var cs []redis.Conn
	for range 8 {
		c := p.Get()
		if _, err := c.Do("PING"); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		c.Close()
	}
	srv.Kill()
	if err := set(t, p, "k"); err == nil {
		t.Fatal("a write to a killed Redis succeeded")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if failures := untilOK(t, p, "k"); failures > 1 {
		t.Errorf("%d writes failed after the restart; the pool handed out its dead connections one by one", failures)
	}
}

// Redis's error replies for "not now" are unavailable; a refusal is not.
func TestUnavailableTellsStateFromRefusal(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{redis.Error("LOADING Redis is loading the dataset in memory"), true},
		{redis.Error("READONLY You can't write against a read only replica."), true},
		{redis.Error("NOREPLICAS Not enough good replicas to write."), true},
		{redis.Error("MASTERDOWN Link with MASTER is down"), true},
		{fmt.Errorf("ledger: %w", redis.Error("BUSY Redis is busy running a script")), true},
		{redis.Error("ERR insufficient_funds"), false},
		{redis.Error("NOSCRIPT No matching script"), false},
		{fmt.Errorf("ledger: %w", redispool.ErrNotReplicated), true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{errors.New("ledger: unexpected script reply"), false},
		{nil, false},
	} {
		if got := redispool.Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// With Backoff, dials after failures wait 100ms, 200ms, 400ms...: a
// caller that retries in a tight loop (gocraft/work) makes few attempts.
func TestBackoffSlowsDialsAfterFailures(t *testing.T) {
	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port) // nothing listens
	count := func(o redispool.Options) int {
		p := redispool.New(o)
		defer p.Close()
		n := 0
		for end := time.Now().Add(time.Second); time.Now().Before(end); n++ {
			c := p.Get()
			_, _ = c.Do("PING")
			c.Close()
		}
		return n
	}
	tight := count(redispool.Options{URL: url, Timeout: timeout})
	backedOff := count(redispool.Options{URL: url, Timeout: timeout, Backoff: true})
	// 100+200+400 ms already exceed 0.7s: at most 5 attempts in a second.
	if backedOff > 5 {
		t.Errorf("%d dial attempts in 1s with back-off, want at most 5", backedOff)
	}
	t.Logf("attempts in 1s: %d without back-off, %d with", tight, backedOff)
}
