package api_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/kubebank/kubebank/src/auth"
)

// The per-address login limit counts the client found through the
// trusted proxies' X-Forwarded-For hops, and only through them.
func TestLoginLimitCountsTheForwardedClient(t *testing.T) {
	limits := auth.Limits{FailuresPerUser: 1000, UserWindow: 60e9, AttemptsPerAddr: 2, AddrWindow: 60e9, RegisterPerAddr: 100, RegisterWindow: 60e9}
	login := func(e *env, xff string) int {
		h := map[string]string{}
		if xff != "" {
			h["X-Forwarded-For"] = xff
		}
		return e.do(t, req{Method: "POST", Path: "/v1/auth/login", Header: h,
			Body: map[string]string{"username": "nobody", "password": "wrong-password"}}).Status
	}
	e := newEnv(t, envOpts{limits: &limits, trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}})
	for i, c := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.5", http.StatusUnauthorized},
		{"203.0.113.5", http.StatusUnauthorized},
		{"203.0.113.5", http.StatusTooManyRequests}, // that client's third attempt
		{"203.0.113.6", http.StatusUnauthorized},    // another client behind the same proxy
		// The client supplied its own header; the hop our proxy added wins.
		{"198.51.100.1, 203.0.113.5", http.StatusTooManyRequests},
		// Every hop trusted (a load balancer's private address, then the
		// ingress): the furthest hop is the client, not the shared peer.
		{"10.0.0.7, 10.1.1.1", http.StatusUnauthorized},
		{"10.0.0.7, 10.1.1.1", http.StatusUnauthorized},
		{"10.0.0.7, 10.1.1.1", http.StatusTooManyRequests},
		{"10.0.0.8, 10.1.1.1", http.StatusUnauthorized},
	} {
		if got := login(e, c.xff); got != c.want {
			t.Fatalf("attempt %d (X-Forwarded-For %q): %d, want %d", i, c.xff, got, c.want)
		}
	}
	// Without trusted proxies the header is ignored: every attempt comes
	// from the test client's own address.
	e = newEnv(t, envOpts{limits: &limits})
	for i, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		want := http.StatusUnauthorized
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if got := login(e, xff); got != want {
			t.Fatalf("untrusted attempt %d: %d, want %d", i, got, want)
		}
	}
}
