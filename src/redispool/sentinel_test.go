package redispool_test

import (
	"context"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redistest"
)

// appUser is an ACL user as the bank's processes have one: its own keys,
// the commands it uses, and ROLE, which the pool checks.
var appUser = []string{"--user", "app", "reset", "on", ">app-password", "~app:*", "+set", "+get", "+ping", "+role", "+acl|whoami"}

// A pool on Sentinels logs in as its ACL user on the primary, and after
// SIGKILL of the primary drains its connections and writes to the
// promoted replica, without a restart; every failure meanwhile is an
// unavailable error within the timeout.
func TestSentinelPoolFollowsFailover(t *testing.T) {
	primary := redistest.Start(t, appUser...)
	replica := primary.Replica(t, appUser...)
	ss := redistest.StartSentinels(t, primary, "bank", 3)
	p := redispool.New(redispool.Options{URL: "redis://ignored:1/0", Sentinels: redistest.SentinelAddrs(ss), MasterName: "bank",
		Username: "app", Password: "app-password", Timeout: timeout})
	defer p.Close()

	if err := set(t, p, "app:before"); err != nil {
		t.Fatal(err)
	}
	if who := do(t, p, "ACL", "WHOAMI"); who != "app" {
		t.Fatalf("logged in as %q, want app", who)
	}
	// The replica has the write, then the primary dies with connections
	// to it idle in the pool.
	// (WAIT counts its own connection's writes: a marker written after
	// app:before is replicated after it.)
	admin := primary.Pool(t).Get()
	if _, err := admin.Do("SET", "marker", 1); err != nil {
		t.Fatal(err)
	}
	if n, err := redis.Int(admin.Do("WAIT", 1, 5000)); err != nil || n != 1 {
		t.Fatalf("WAIT: %d, %v", n, err)
	}
	admin.Close()
	var held []redis.Conn
	for range 4 {
		held = append(held, p.Get())
	}
	for _, c := range held {
		c.Close()
	}
	primary.Kill()
	start := time.Now()
	failures := untilOK(t, p, "app:after")
	t.Logf("writes failed %d times for %s until the promoted replica took them", failures, time.Since(start).Round(time.Millisecond))

	// The write went to the promoted replica, which also kept the one
	// from before.
	if role, err := replica.Role(); err != nil || role != "master" {
		t.Fatalf("the replica's role after the failover: %q, %v", role, err)
	}
	r := replica.Pool(t).Get()
	defer r.Close()
	for _, k := range []string{"app:before", "app:after"} {
		if v, err := redis.String(r.Do("GET", k)); err != nil || v != "1" {
			t.Errorf("%s on the promoted replica: %q, %v", k, v, err)
		}
	}
}

func do(t *testing.T, p *redis.Pool, cmd string, args ...any) string {
	t.Helper()
	c, err := p.GetContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := redis.String(c.Do(cmd, args...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
