// Package redisproc runs redis-server as a child process: `bank dev` uses
// it for a private, persistent Redis on a laptop and the tests use it (via
// redistest) for a throw-away one. AOF is always on so that a killed child
// loses nothing it acknowledged beyond the fsync policy.
package redisproc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Options for Start.
type Options struct {
	Dir    string   // data directory (AOF, log)
	Port   int      // 0 picks a free port
	Extra  []string // more redis-server arguments, e.g. "--appendfsync", "always"
	Output io.Writer
}

// Proc is a running redis-server.
type Proc struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0
	Dir  string
	bin  string
	args []string
	out  io.Writer
	cmd  *exec.Cmd
	auth string // the password start's PING logs in with, if any
}

// ErrNotInstalled is returned when redis-server is not on PATH.
var ErrNotInstalled = errors.New("redis-server not found on PATH (Debian/Ubuntu: apt-get install redis-server)")

// Start launches redis-server and waits until it answers PING.
func Start(o Options) (*Proc, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	// redis-server changes into --dir before it opens --logfile, so a
	// relative path would be resolved twice.
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return nil, err
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	} else if err := portFree(o.Port); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", o.Port)
	p := &Proc{Addr: addr, URL: "redis://" + addr + "/0", Dir: o.Dir, bin: bin, out: o.Output,
		args: append([]string{
			"--port", fmt.Sprint(o.Port), "--bind", "127.0.0.1", "--dir", o.Dir,
			"--appendonly", "yes", "--save", "", "--daemonize", "no",
			"--logfile", filepath.Join(o.Dir, "redis.log"),
		}, o.Extra...)}
	return p, p.start()
}

func (p *Proc) start() error {
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := redis.Dial("tcp", p.Addr, redis.DialPassword(p.auth))
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Kill()
	return fmt.Errorf("redis-server on %s did not answer PING within 10s (see %s)", p.Addr, filepath.Join(p.Dir, "redis.log"))
}

// Kill stops the server with SIGKILL, as a crash would.
func (p *Proc) Kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// Stop asks the server to shut down cleanly (SIGTERM flushes the AOF) and
// kills it if it has not exited within 10 seconds.
func (p *Proc) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// Pause stops the process with SIGSTOP: it keeps its connections open
// and answers nothing, as a hung node or a long GC pause would.
func (p *Proc) Pause() error { return p.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (p *Proc) Resume() error { return p.cmd.Process.Signal(syscall.SIGCONT) }

// Restart starts the server again on the same port and data directory,
// after Kill or Stop: the AOF replays what was acknowledged.
func (p *Proc) Restart() error { return p.start() }

// ErrPortInUse is returned when something already listens on the port
// asked for: a server this process did not start must not be taken for
// its own (another `bank dev`, or a leftover redis-server with other data).
var ErrPortInUse = errors.New("port already in use")

func portFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("redis-server on 127.0.0.1:%d: %w by another process (stop it, or choose another port): %v", port, ErrPortInUse, err)
	}
	return l.Close()
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
