package luascript_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/luascript"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redistest"
)

var incr = luascript.New(1, "return redis.call('INCR', KEYS[1])")

func run(t *testing.T, p *redis.Pool, ack redispool.Ack) (int, error) {
	t.Helper()
	c := p.Get()
	defer c.Close()
	return redis.Int(luascript.Run(context.Background(), c, incr, ack, "n"))
}

// With replicas to confirm, Run acknowledges only what WAIT confirmed:
// the replica has the write the moment Run returns. Without a replica
// the write is applied but reported as not replicated (outcome unknown).
func TestRunWaitsForReplicas(t *testing.T) {
	primary := redistest.Start(t)
	p := primary.Pool(t)
	ack := redispool.Ack{Replicas: 1, Timeout: 200 * time.Millisecond}

	start := time.Now()
	_, err := run(t, p, ack)
	if !errors.Is(err, redispool.ErrNotReplicated) || !redispool.Unavailable(err) {
		t.Fatalf("without a replica: %v, want ErrNotReplicated", err)
	}
	if took := time.Since(start); took < ack.Timeout {
		t.Errorf("gave up after %s, before the %s WAIT timeout", took, ack.Timeout)
	}
	if n, err := run(t, p, redispool.Ack{}); err != nil || n != 2 {
		t.Fatalf("the unconfirmed write was applied (outcome unknown), so n = 2; got %d, %v", n, err)
	}

	replica := primary.Replica(t)
	rc := replica.Pool(t).Get()
	defer rc.Close()
	// Once the replica is in sync, every confirmed write is on it.
	ack.Timeout = 5 * time.Second
	for i := 3; i <= 20; i++ {
		n, err := run(t, p, ack)
		if err != nil {
			t.Fatalf("with a replica: %v", err)
		}
		if got, err := redis.Int(rc.Do("GET", "n")); err != nil || got != n {
			t.Fatalf("confirmed write %d: the replica has %d, %v", n, got, err)
		}
	}
	// A script not in the cache (after a restart or SCRIPT FLUSH) is sent
	// again, still confirmed.
	c := p.Get()
	if _, err := c.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n, err := run(t, p, ack); err != nil || n != 21 {
		t.Fatalf("after SCRIPT FLUSH: %d, %v", n, err)
	}
}
