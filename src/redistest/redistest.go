// Package redistest starts a private redis-server on a free port for a test.
// Tests never share a server and never mock Redis: every ledger rule lives
// in Lua scripts that only a real server runs.
package redistest

import (
	"os"
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
	p, err := redisproc.Start(redisproc.Options{Dir: tb.TempDir(), Extra: extra, Output: os.Stderr})
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
