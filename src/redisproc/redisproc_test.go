package redisproc_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redisproc"
)

// A port something else listens on is refused with a clear error, not
// silently used.
func TestStartRefusesAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	p, err := redisproc.Start(redisproc.Options{Dir: t.TempDir(), Port: port})
	if err == nil {
		p.Kill()
		t.Fatal("Start used a port another process listens on")
	}
	if !errors.Is(err, redisproc.ErrPortInUse) {
		t.Fatalf("Start: %v, want ErrPortInUse", err)
	}
}

// parentEnv makes the test binary act as a parent that starts
// redis-server, prints its address and waits to be killed.
const parentEnv = "REDISPROC_TEST_PARENT_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(parentEnv); dir != "" {
		p, err := redisproc.Start(redisproc.Options{Dir: dir})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(p.Addr)
		select {}
	}
	os.Exit(m.Run())
}

// The redis-server child dies with its parent, even when the parent is
// SIGKILLed and cannot stop it.
func TestChildDiesWithItsParent(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"="+t.TempDir())
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the parent printed %q: %v", line, err)
	}
	addr := line[:len(line)-1]
	// If it outlives its parent (the failure), stop it anyway.
	t.Cleanup(func() {
		if c, err := redis.Dial("tcp", addr, redis.DialConnectTimeout(200*time.Millisecond)); err == nil {
			_, _ = c.Do("SHUTDOWN", "NOSAVE")
			c.Close()
		}
	})
	c, err := redis.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the child at %q: %v", addr, err)
	}
	c.Close()
	_ = parent.Process.Kill()
	_ = parent.Wait()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		c, err := redis.Dial("tcp", addr, redis.DialConnectTimeout(200*time.Millisecond))
		if err != nil {
			return // gone
		}
		c.Close()
	}
	t.Fatalf("redis-server at %s still answers 5s after its parent was SIGKILLed", addr)
}
