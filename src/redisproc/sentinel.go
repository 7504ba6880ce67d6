package redisproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/sentinel"
)

// ErrSentinelNotInstalled is returned when redis-sentinel is not on PATH.
var ErrSentinelNotInstalled = errors.New("redis-sentinel not found on PATH (Debian/Ubuntu: apt-get install redis-sentinel)")

// SentinelOptions for StartSentinel.
type SentinelOptions struct {
	Dir        string // its config file (Sentinel rewrites it) and log
	Port       int    // 0 picks a free port
	MasterName string
	Master     string // host:port of the primary to monitor
	Quorum     int
	// DownAfter and FailoverTimeout: Sentinel's down-after-milliseconds
	// and failover-timeout. Tests use small ones.
	DownAfter, FailoverTimeout time.Duration
	AuthPass                   string // the data nodes' password, if any
	// Password, when set, is the Sentinel's own (requirepass), which
	// clients and the other Sentinels (sentinel-pass) log in with.
	Password string
	// Extra are more sentinel.conf lines, such as the ACL users the
	// deployed Sentinels declare (components/redis-sentinel/sentinel.sh).
	Extra  []string
	Output io.Writer
}

// StartSentinel launches redis-sentinel monitoring o.Master and waits
// until it answers PING.
func StartSentinel(o SentinelOptions) (*Proc, error) {
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		return nil, ErrSentinelNotInstalled
	}
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return nil, err
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	host, port, err := net.SplitHostPort(o.Master)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
		"sentinel monitor %s %s %s %d\n"+
		"sentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s %d\nsentinel parallel-syncs %s 1\n",
		o.Port, o.Dir, filepath.Join(o.Dir, "sentinel.log"),
		o.MasterName, host, port, o.Quorum,
		o.MasterName, o.DownAfter.Milliseconds(), o.MasterName, o.FailoverTimeout.Milliseconds(), o.MasterName)
	if o.AuthPass != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", o.MasterName, o.AuthPass)
	}
	if o.Password != "" {
		conf += fmt.Sprintf("requirepass %s\nsentinel sentinel-pass %s\n", o.Password, o.Password)
	}
	for _, l := range o.Extra {
		conf += l + "\n"
	}
	path := filepath.Join(o.Dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", o.Port)
	p := &Proc{Addr: addr, URL: "redis://" + addr, Dir: o.Dir, bin: bin, out: o.Output, args: []string{path}, auth: o.Password}
	return p, p.start()
}

// Role is the server's ROLE: "master", "slave" or "sentinel".
func (p *Proc) Role() (string, error) {
	c, err := redis.Dial("tcp", p.Addr, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second))
	if err != nil {
		return "", err
	}
	defer c.Close()
	return sentinel.Role(context.Background(), c)
}
