package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
)

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{0, "EUR", "0.00 EUR"},
		{5, "EUR", "0.05 EUR"},
		{-5, "EUR", "−0.05 EUR"},
		{123456789, "EUR", "1,234,567.89 EUR"},
		{-100000, "USD", "−1,000.00 USD"},
		{1500, "JPY", "1,500 JPY"},
		{1, "BHD", "0.001 BHD"},
		{bank.MaxBalance, "EUR", "10,000,000,000,000.00 EUR"},
		{-bank.MaxBalance, "KWD", "−1,000,000,000,000.000 KWD"},
	} {
		if got := money(c.minor, c.cur); got != c.want {
			t.Errorf("money(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/dashboard", "/transfer?from=1": "/transfer?from=1", "//evil.example": "/dashboard",
		"https://evil.example": "/dashboard", "/\\evil.example": "/dashboard",
		"/./\\evil.example": "/dashboard", "/\t/evil.example": "/dashboard", "/\n/evil.example": "/dashboard",
		"/.//evil.example": "/evil.example", "/a/..//evil.example": "/evil.example", "/%2F%2Fevil.example": "/evil.example",
		"/%5Cevil.example": "/dashboard", "/%09/evil.example": "/dashboard",
		"/accounts/1000000016?from=2026-01-01": "/accounts/1000000016?from=2026-01-01",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChartUsesIntegerCoordinatesWithinTheBox(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Newest first, as the API returns them; the balance dips below zero
	// and reaches the ledger's bound, which must not overflow the scaling.
	entries := []bank.Entry{
		{Time: t0.Add(3 * time.Hour), Amount: bank.MaxBalance, BalanceAfter: bank.MaxBalance - 500},
		{Time: t0.Add(2 * time.Hour), Amount: -1000, BalanceAfter: -500},
		{Time: t0.Add(time.Hour), Amount: 500, BalanceAfter: 500},
	}
	acct := apiclient.Account{Account: bank.Account{Currency: "EUR", Balance: bank.MaxBalance - 500}}
	c := buildChart(entries, acct, t0.Add(4*time.Hour))
	if c == nil || !c.ShowZero || c.Points != 3 {
		t.Fatalf("chart %+v", c)
	}
	d := string(c.Path)
	if !strings.HasPrefix(d, "M4 ") {
		t.Errorf("path starts %q, want at the left padding", d)
	}
	for _, f := range strings.Fields(d) {
		n := 0
		for _, r := range f[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("non-integer coordinate %q in %q", f, d)
			}
			n = n*10 + int(r-'0')
		}
		if n > chartW {
			t.Errorf("coordinate %q outside the %dx%d box", f, chartW, chartH)
		}
	}
	if !strings.Contains(c.Label, "lowest −5.00 EUR") {
		t.Errorf("label %q", c.Label)
	}
	if buildChart(nil, acct, t0) != nil {
		t.Error("empty history should draw no chart")
	}
}

// The API finds the browser behind the ingress controller and this web
// app only if the web app passes the whole chain on, its own peer last.
func TestClientCtxForwardsTheChain(t *testing.T) {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "10.1.2.3:41000" // the ingress controller's pod
	r.Header.Add("X-Forwarded-For", "203.0.113.7")
	if got := apiclient.ClientAddr(clientCtx(r)); got != "203.0.113.7, 10.1.2.3" {
		t.Fatalf("forwarded chain %q", got)
	}
	r = httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "198.51.100.9:5000" // a browser straight to the web app
	if got := apiclient.ClientAddr(clientCtx(r)); got != "198.51.100.9" {
		t.Fatalf("forwarded chain %q", got)
	}
}
