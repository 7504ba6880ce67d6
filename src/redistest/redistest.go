// Package redistest starts a private redis-server on a free port for a test.
// Tests never share a server and never mock Redis: every ledger rule lives
// in Lua scripts that only a real server runs.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Server is a running redis-server child process.
type Server struct {
	Addr string // host:port
	URL  string // redis://host:port/0
	Dir  string
	cmd  *exec.Cmd
	args []string
}

// Start launches redis-server with AOF on (appendfsync everysec unless
// overridden by extra args) in a temporary directory and stops it when the
// test ends. It fails the test if redis-server is not installed.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s, err := StartIn(tb.TempDir(), extra...)
	if err != nil {
		tb.Fatalf("redistest: %v (install redis-server: apt-get install redis-server, or run `make test`, which installs it)", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartIn launches redis-server with its data in dir. The caller stops it.
func StartIn(dir string, extra ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{
		"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--save", "", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	}, extra...)
	s := &Server{Addr: addr, URL: "redis://" + addr + "/0", Dir: dir, args: args}
	s.cmd = exec.Command(bin, args...)
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	s.cmd = exec.Command(s.cmd.Path, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := redis.Dial("tcp", s.Addr)
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("redis-server on %s did not answer PING within 10s", s.Addr)
}

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Restart starts the server again on the same port and data directory,
// after Kill: AOF replays what was acknowledged.
func (s *Server) Restart() error { return s.start() }

// Stop terminates the server.
func (s *Server) Stop() { s.Kill() }

// Pool returns a redigo pool for the server, closed at test end.
func (s *Server) Pool(tb testing.TB) *redis.Pool {
	p := &redis.Pool{
		MaxIdle: 64, MaxActive: 256, Wait: true, IdleTimeout: time.Minute,
		Dial: func() (redis.Conn, error) { return redis.DialURL(s.URL) },
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// FreePort asks the kernel for a free TCP port on the loopback interface.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
