package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/redistest"
)

// startWeb runs the real API (as `bank dev` does: it trusts loopback
// hops) and serveWeb with o against a private redis-server, and returns
// the web app's base URL. o.MetricsListener nil is `bank dev`'s layout
// (probes on the app's own listener).
func startWeb(t *testing.T, o webOptions) (string, *redis.Pool) {
	t.Helper()
	pool := redistest.Start(t).Pool(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	apiLn := listen(t)
	webLn := listen(t)
	done := make(chan error, 2)
	go func() { done <- serveDevAPI(ctx, log, pool, apiLn) }()
	o.APIURL, o.ShutdownTimeout = "http://"+apiLn.Addr().String(), time.Second
	go func() { done <- serveWeb(ctx, log, pool, webLn, o) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	})
	return "http://" + webLn.Addr().String(), pool
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// get waits (briefly) for a 2xx or returns the last status.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code, body = resp.StatusCode, string(b)
			if code/100 == 2 || code == http.StatusNotFound {
				return code, body
			}
		}
		if time.Now().After(deadline) {
			return code, body
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// In a cluster the app's port is public (the Ingress sends "/" to it):
// readiness, which calls the API and Redis and shows their errors, and
// metrics must be on the separate metrics listener only.
func TestWebServesProbesAndMetricsOnTheMetricsListener(t *testing.T) {
	ops := listen(t)
	app, _ := startWeb(t, webOptions{MetricsListener: ops})
	opsURL := "http://" + ops.Addr().String()
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, body := get(t, opsURL+p); code != http.StatusOK {
			t.Errorf("metrics listener %s: %d %s", p, code, body)
		}
	}
	if code, _ := get(t, app+"/login"); code != http.StatusOK {
		t.Errorf("app /login: %d", code)
	}
	if code, _ := get(t, app+"/healthz"); code != http.StatusOK {
		t.Errorf("app /healthz: %d", code)
	}
	for _, p := range []string{"/readyz", "/metrics"} {
		if code, body := get(t, app+p); code != http.StatusNotFound || strings.Contains(body, "go_goroutines") || strings.Contains(body, `"redis"`) {
			t.Errorf("app port serves %s: %d %.200s", p, code, body)
		}
	}
	if _, body := get(t, opsURL+"/metrics"); !strings.Contains(body, `route="GET /login"`) {
		t.Errorf("metrics do not count the app's requests:\n%.500s", body)
	}
}

// `bank dev` passes no metrics listener: everything on the one loopback port.
func TestWebWithoutMetricsListenerServesProbesOnItsPort(t *testing.T) {
	app, _ := startWeb(t, webOptions{})
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/login"} {
		if code, body := get(t, app+p); code != http.StatusOK {
			t.Errorf("%s: %d %.200s", p, code, body)
		}
	}
}

// loginAddrs logs in through the web app three times with a wrong
// password, each time claiming another X-Forwarded-For, and returns the
// client addresses the API's per-address login limit counted.
func loginAddrs(t *testing.T, o webOptions) []string {
	t.Helper()
	app, pool := startWeb(t, o)
	for i := 1; i <= 3; i++ {
		req, _ := http.NewRequest("POST", app+"/login", strings.NewReader(url.Values{
			"username": {fmt.Sprintf("nobody%d", i)}, "password": {"wrong password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("login %d: %s", i, resp.Status)
		}
	}
	c := pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", "bank:ratelimit:login-addr:*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, "bank:ratelimit:login-addr:")
	}
	slices.Sort(keys)
	return keys
}

// A client that reaches the web app directly (NodePort, LAN) must not buy
// a fresh login budget by making up X-Forwarded-For: unless its peer is a
// trusted proxy, the web app sends the API only the peer.
func TestWebForwardsTheChainOnlyFromTrustedProxies(t *testing.T) {
	if got := loginAddrs(t, webOptions{}); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("no trusted proxies: the API counted %v, want only the peer 127.0.0.1", got)
	}
	// The test client stands in for an ingress controller on loopback.
	trusted := webOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if got := loginAddrs(t, trusted); !slices.Equal(got, []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}) {
		t.Errorf("trusted peer: the API counted %v, want the forwarded clients", got)
	}
}
