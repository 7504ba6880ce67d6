package sentinel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/sentinel"
)

func dial(ctx context.Context, addr string) (redis.Conn, error) {
	return redis.DialContext(ctx, "tcp", addr, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second))
}

func client(addrs ...string) *sentinel.Client {
	return &sentinel.Client{Addrs: addrs, MasterName: "bank", DialSentinel: dial, DialMaster: dial}
}

// Dial finds the primary through the Sentinels, skipping one that is
// down, and after SIGKILL of the primary finds the promoted replica.
func TestDialFollowsTheMaster(t *testing.T) {
	primary := redistest.Start(t)
	replica := primary.Replica(t)
	ss := redistest.StartSentinels(t, primary, "bank", 3)
	ctx := context.Background()

	// The first address is a Sentinel that is gone.
	ss[0].Kill()
	c := client(ss[0].Addr, ss[1].Addr, ss[2].Addr)
	conn, named, err := c.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if addr := addrOf(t, conn); addr != primary.Addr || named != primary.Addr {
		t.Errorf("dialed %s, want the primary %s", addr, primary.Addr)
	}
	conn.Close()
	if err := ss[0].Restart(); err != nil {
		t.Fatal(err)
	}

	// Let the replica catch up, then kill the primary: the Sentinels
	// promote the replica and Dial follows.
	waitRole(t, replica, "slave")
	if m, err := c.Master(ctx); err != nil || m != primary.Addr {
		t.Fatalf("Master = %q, %v; want %s", m, err, primary.Addr)
	}
	primary.Kill()
	start := time.Now()
	for {
		conn, _, err := c.Dial(ctx)
		if err == nil {
			if addr := addrOf(t, conn); addr != replica.Addr {
				t.Fatalf("dialed %s after the failover, want the promoted replica %s", addr, replica.Addr)
			}
			conn.Close()
			break
		}
		if !errors.Is(err, sentinel.ErrNoMaster) {
			t.Fatalf("during the failover: %v, want ErrNoMaster", err)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no master 30s after the primary died: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the promoted replica was dialed %s after SIGKILL of the primary", time.Since(start).Round(time.Millisecond))
}

// addrOf is the address of the server conn is connected to, as the
// server itself tells it.
func addrOf(t *testing.T, conn redis.Conn) string {
	t.Helper()
	kv, err := redis.Strings(conn.Do("CONFIG", "GET", "port"))
	if err != nil || len(kv) != 2 {
		t.Fatalf("CONFIG GET port: %q, %v", kv, err)
	}
	return "127.0.0.1:" + kv[1]
}

func waitRole(t *testing.T, s *redistest.Server, want string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if r, err := s.Role(); err == nil && r == want {
			return
		}
	}
	t.Fatalf("%s never had ROLE %s", s.Addr, want)
}

// A replica is never taken for the master.
func TestCheckRoleRefusesAReplica(t *testing.T) {
	primary := redistest.Start(t)
	replica := primary.Replica(t)
	ctx := context.Background()
	for _, c := range []struct {
		addr string
		want error
	}{{primary.Addr, nil}, {replica.Addr, sentinel.ErrNotMaster}} {
		conn, err := dial(ctx, c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := sentinel.CheckRole(ctx, conn, "master"); !errors.Is(err, c.want) {
			t.Errorf("CheckRole(%s) = %v, want %v", c.addr, err, c.want)
		}
		conn.Close()
	}
}

func TestParseAddrs(t *testing.T) {
	got, err := sentinel.ParseAddrs(" a:26379, b:26379 ,")
	if err != nil || len(got) != 2 || got[0] != "a:26379" || got[1] != "b:26379" {
		t.Errorf("ParseAddrs = %q, %v", got, err)
	}
	for _, bad := range []string{"", "a", "a:1,b"} {
		if _, err := sentinel.ParseAddrs(bad); err == nil {
			t.Errorf("ParseAddrs(%q) accepted", bad)
		}
	}
}

// Confirm passes only when a majority of Sentinels answers and all name
// the server as the master.
func TestConfirmNeedsAMajorityNamingTheMaster(t *testing.T) {
	primary := redistest.Start(t)
	replica := primary.Replica(t)
	ss := redistest.StartSentinels(t, primary, "bank", 3)
	ctx := context.Background()
	c := client(ss[0].Addr, ss[1].Addr, ss[2].Addr)
	defer c.Close()
	if err := c.Confirm(ctx, primary.Addr); err != nil {
		t.Fatalf("Confirm(primary): %v", err)
	}
	if err := c.Confirm(ctx, replica.Addr); !errors.Is(err, sentinel.ErrUnconfirmed) {
		t.Errorf("Confirm(replica) = %v, want ErrUnconfirmed", err)
	}
	ss[0].Kill()
	if err := c.Confirm(ctx, primary.Addr); err != nil {
		t.Errorf("Confirm with 2 of 3 Sentinels: %v", err)
	}
	ss[1].Kill()
	if err := c.Confirm(ctx, primary.Addr); !errors.Is(err, sentinel.ErrUnconfirmed) {
		t.Errorf("Confirm with 1 of 3 Sentinels = %v, want ErrUnconfirmed", err)
	}
}
