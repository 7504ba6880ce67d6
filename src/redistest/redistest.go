// Package redistest starts a private redis-server on a free port for a test.
// Tests never share a server and never mock Redis: every ledger rule lives
// in Lua scripts that only a real server runs.
package redistest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redisproc"
)

// Server is a running redis-server child process.
type Server struct {
	*redisproc.Proc
}

// Start launches redis-server (AOF on, in a temporary directory) and stops
// it when the test ends. It fails the test if redis-server is not installed.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return StartIn(tb, tb.TempDir(), extra...)
}

// StartIn is Start on the data directory dir, e.g. one prepared by
// `bank admin restore`.
func StartIn(tb testing.TB, dir string, extra ...string) *Server {
	tb.Helper()
	p, err := redisproc.Start(redisproc.Options{Dir: dir, Extra: extra, Output: os.Stderr})
	if err != nil {
		tb.Fatalf("redistest: %v (`make test` installs redis-server when run as root)", err)
	}
	tb.Cleanup(p.Kill)
	return &Server{p}
}

// Pool returns a redigo pool for the server, closed at test end.
func (s *Server) Pool(tb testing.TB) *redis.Pool {
	p := &redis.Pool{
		MaxIdle: 64, MaxActive: 256, Wait: true, IdleTimeout: time.Minute,
		Dial: func() (redis.Conn, error) { return redis.DialURL(s.URL) },
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// Replica starts a redis-server that replicates s, stopped when the test
// ends, and returns once its first sync is done.
func (s *Server) Replica(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	// Redis waits 5s for more replicas before a diskless full sync.
	c, err := redis.Dial("tcp", s.Addr)
	if err == nil {
		_, err = c.Do("CONFIG", "SET", "repl-diskless-sync-delay", "0")
		c.Close()
	}
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	host, port, _ := net.SplitHostPort(s.Addr)
	r := Start(tb, append([]string{"--replicaof", host, port}, extra...)...)
	if err := WaitReplicaOnline(s.Addr, r.Addr, ""); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return r
}

// WaitReplicaOnline waits (10s at most) until the primary at primary
// counts the replica at replica as online and, under
// min-replicas-to-write, as a good replica that writes may count on:
// only then does it take writes again. password logs in to the primary.
func WaitReplicaOnline(primary, replica, password string) error {
	_, rport, _ := net.SplitHostPort(replica)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := redis.Dial("tcp", primary, redis.DialPassword(password))
		if err != nil {
			return err
		}
		info, _ := redis.String(c.Do("INFO", "replication"))
		c.Close()
		online := strings.Contains(info, ",port="+rport+",state=online,")
		good := !strings.Contains(info, "min_slaves_good_slaves:0")
		if online && good {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("replica %s not online at %s within 10s:\n%s", replica, primary, info)
		}
	}
}

// SentinelTiming is how fast the test Sentinels act: a primary silent
// for DownAfter is down, and a failover is retried after FailoverTimeout.
var SentinelTiming = struct{ DownAfter, FailoverTimeout time.Duration }{time.Second, 3 * time.Second}

// StartSentinels starts n redis-sentinel processes monitoring master as
// name, with a majority quorum, stopped when the test ends. It fails the
// test if redis-sentinel is not installed.
func StartSentinels(tb testing.TB, master *Server, name string, n int) []*redisproc.Proc {
	tb.Helper()
	return StartSentinelsWith(tb, redisproc.SentinelOptions{MasterName: name, Master: master.Addr}, n)
}

// StartSentinelsWith is StartSentinels with o's passwords (and names);
// Dir, Port, Quorum and the timing are the test's.
func StartSentinelsWith(tb testing.TB, o redisproc.SentinelOptions, n int) []*redisproc.Proc {
	tb.Helper()
	out := make([]*redisproc.Proc, n)
	for i := range out {
		o := o
		o.Dir, o.Port, o.Quorum, o.Output = tb.TempDir(), 0, n/2+1, os.Stderr
		o.DownAfter, o.FailoverTimeout = SentinelTiming.DownAfter, SentinelTiming.FailoverTimeout
		p, err := redisproc.StartSentinel(o)
		if err != nil {
			tb.Fatalf("redistest: %v (`make test` installs redis-sentinel when run as root)", err)
		}
		tb.Cleanup(func() {
			p.Kill()
			if tb.Failed() { // what the Sentinels decided, for the failure's story
				if b, err := os.ReadFile(filepath.Join(p.Dir, "sentinel.log")); err == nil {
					tb.Logf("sentinel %s log:\n%s", p.Addr, b[max(0, len(b)-3000):])
				}
			}
		})
		out[i] = p
	}
	return out
}

// SentinelAddrs joins the Sentinels' addresses as --redis-sentinels wants.
func SentinelAddrs(ss []*redisproc.Proc) string {
	addrs := make([]string, len(ss))
	for i, s := range ss {
		addrs[i] = s.Addr
	}
	return strings.Join(addrs, ",")
}

// FreeAddr is a free 127.0.0.1:port for a server a test starts; the test
// fails when there is none.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	p, err := redisproc.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}
