package redispool_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/cli"
	"github.com/kubebank/kubebank/src/redispool"
	"github.com/kubebank/kubebank/src/redistest"
)

// A pool with a Username logs in as that ACL user, and gets only what
// the user may do; without one it is Redis's default user.
func TestUsernameLogsInAsTheACLUser(t *testing.T) {
	srv := redistest.Start(t, "--user", "app", "reset", "on", ">app-password", "~app:*", "+ping", "+set", "+acl|whoami")
	ctx := context.Background()

	app := redispool.New(redispool.Options{URL: srv.URL, Username: "app", Password: "app-password"})
	defer app.Close()
	if err := redispool.Ping(ctx, app); err != nil {
		t.Fatal(err)
	}
	c := app.Get()
	defer c.Close()
	if who, err := redis.String(c.Do("ACL", "WHOAMI")); err != nil || who != "app" {
		t.Fatalf("ACL WHOAMI = %q, %v; want app", who, err)
	}
	if _, err := c.Do("SET", "app:x", 1); err != nil {
		t.Errorf("SET on its own key: %v", err)
	}
	if _, err := c.Do("SET", "other:x", 1); err == nil {
		t.Error("SET on another key was allowed")
	}

	wrong := redispool.New(redispool.Options{URL: srv.URL, Username: "app", Password: "not-it"})
	defer wrong.Close()
	if err := redispool.Ping(ctx, wrong); err == nil {
		t.Error("a wrong password was accepted")
	}

	def := redispool.New(redispool.Options{URL: srv.URL})
	defer def.Close()
	d := def.Get()
	defer d.Close()
	if who, err := redis.String(d.Do("ACL", "WHOAMI")); err != nil || who != "default" {
		t.Fatalf("without a username ACL WHOAMI = %q, %v; want default", who, err)
	}
}

// Flags gives every process the same Redis flags with BANK_* fallbacks.
func TestFlagsReadTheEnvironment(t *testing.T) {
	t.Setenv("BANK_REDIS_URL", "redis://redis:6379/0")
	t.Setenv("BANK_REDIS_USERNAME", "worker")
	t.Setenv("BANK_REDIS_PASSWORD", "from-a-secret")
	t.Setenv("BANK_REDIS_SENTINELS", "redis-sentinel:26379")
	t.Setenv("BANK_REDIS_MASTER_NAME", "ledger")
	t.Setenv("BANK_REDIS_SENTINEL_PASSWORD", "sentinel-secret")
	t.Setenv("BANK_REDIS_TIMEOUT", "1500ms")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var o redispool.Options
	o.Flags(fs, "Redis URL")
	if err := cli.Parse(fs, []string{"--redis-username", "api"}); err != nil {
		t.Fatal(err)
	}
	want := redispool.Options{URL: "redis://redis:6379/0", Username: "api", Password: "from-a-secret",
		Sentinels: "redis-sentinel:26379", MasterName: "ledger", SentinelPassword: "sentinel-secret", Timeout: 1500 * time.Millisecond}
	if o != want {
		t.Errorf("options %+v, want %+v (the command line wins over the environment)", o, want)
	}
}
