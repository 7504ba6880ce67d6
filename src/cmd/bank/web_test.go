package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/redistest"
)

// startWeb runs the real API and serveWeb against a private redis-server
// and returns the web app's base URL; ops is nil for `bank dev`'s layout
// (probes on the app's own listener).
func startWeb(t *testing.T, ops net.Listener) string {
	t.Helper()
	pool := redistest.Start(t).Pool(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	apiLn := listen(t)
	webLn := listen(t)
	done := make(chan error, 2)
	go func() { done <- serveDevAPI(ctx, log, pool, apiLn) }()
	go func() {
		done <- serveWeb(ctx, log, pool, webLn, webOptions{APIURL: "http://" + apiLn.Addr().String(),
			ShutdownTimeout: time.Second, MetricsListener: ops})
	}()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	})
	return "http://" + webLn.Addr().String()
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
	app := startWeb(t, ops)
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
	app := startWeb(t, nil)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/login"} {
		if code, body := get(t, app+p); code != http.StatusOK {
			t.Errorf("%s: %d %.200s", p, code, body)
		}
	}
}
