package web

import (
	"io/fs"
	"net/http/httptest"
	"net/netip"
	"regexp"
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
// app only if the web app passes the whole chain on, its own peer last;
// but a chain from a peer that is not a trusted proxy is whatever the
// client chose to send, and passing it on would let one client rotate
// addresses for a fresh login budget each time.
func TestClientCtxForwardsTheChain(t *testing.T) {
	s := &Server{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	addr := func(peer string, xff ...string) string {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = peer
		for _, h := range xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		return apiclient.ClientAddr(s.clientCtx(r))
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"ingress controller's pod", "10.1.2.3:41000", []string{"203.0.113.7"}, "203.0.113.7, 10.1.2.3"},
		{"trusted, two headers", "10.1.2.3:41000", []string{"198.18.0.1", "203.0.113.7"}, "198.18.0.1, 203.0.113.7, 10.1.2.3"},
		{"trusted, IPv4 on a dual-stack socket", "[::ffff:10.1.2.3]:41000", []string{"203.0.113.7"}, "203.0.113.7, ::ffff:10.1.2.3"},
		{"browser straight to the web app", "198.51.100.9:5000", nil, "198.51.100.9"},
		// A NodePort or LAN client: its header is dropped, only its address counts.
		{"untrusted private peer with a made-up chain", "192.168.1.20:5000", []string{"203.0.113.99"}, "192.168.1.20"},
		{"untrusted public peer with a made-up chain", "198.51.100.9:5000", []string{"10.9.9.9, 203.0.113.5"}, "198.51.100.9"},
	} {
		if got := addr(c.peer, c.xff...); got != c.want {
			t.Errorf("%s: forwarded %q, want %q", c.name, got, c.want)
		}
	}
	// No trusted proxies (the default): never pass a chain on.
	s.trusted = nil
	if got := addr("10.1.2.3:41000", "203.0.113.7"); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: forwarded %q", got)
	}
}

func TestSystemPartyNamesTheBanksSide(t *testing.T) {
	eur, _ := bank.LookupCurrency("EUR")
	cash := bank.SystemAccountNumber(bank.PurposeTellerCash, eur)
	interest := bank.SystemAccountNumber(bank.PurposeInterestExpense, eur)
	for _, c := range []struct {
		n, cur string
		kind   bank.PostingKind
		want   string
	}{
		{cash, "EUR", bank.PostingDeposit, "Cash deposit"},
		{cash, "EUR", bank.PostingWithdrawal, "Cash withdrawal"},
		{interest, "EUR", bank.PostingInterest, "Interest"},
		{cash, "USD", bank.PostingDeposit, ""}, // EUR's till is not USD's
		{"1000000016", "EUR", bank.PostingTransfer, ""},
	} {
		if got := systemParty(c.n, c.cur, c.kind); got != c.want {
			t.Errorf("systemParty(%s, %s, %s) = %q, want %q", c.n, c.cur, c.kind, got, c.want)
		}
	}
}

// Every account-number placeholder in the templates is a number that
// passes its own check digit: an example must not teach a typo.
func TestPlaceholderAccountNumbersAreValid(t *testing.T) {
	re := regexp.MustCompile(`placeholder="(\d{10})"`)
	n := 0
	err := fs.WalkDir(templateFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			n++
			if err := bank.ValidateAccountNumber(string(m[1])); err != nil {
				t.Errorf("%s: placeholder %s: %v", p, m[1], err)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("read %d placeholders: %v", n, err)
	}
}

// A new account's first deposit does not start the chart from a 0.00 it
// never had; an older account's period starts from its balance before.
func TestChartStartsWhenTheAccountDid(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	entries := []bank.Entry{
		{Time: t0.Add(2 * time.Hour), Amount: -2_000, BalanceAfter: 8_000},
		{Time: t0, Amount: 10_000, BalanceAfter: 10_000},
	}
	fresh := apiclient.Account{Account: bank.Account{Currency: "EUR", Balance: 8_000, CreatedAt: t0}}
	c := buildChart(entries, fresh, t0.Add(3*time.Hour))
	if c.MinLabel != "80.00 EUR" || c.MaxLabel != "100.00 EUR" {
		t.Errorf("new account: lowest %s highest %s, want 80.00 and 100.00 EUR", c.MinLabel, c.MaxLabel)
	}
	older := fresh
	older.CreatedAt = t0.AddDate(0, -1, 0)
	if c := buildChart(entries, older, t0.Add(3*time.Hour)); c.MinLabel != "0.00 EUR" {
		t.Errorf("account that existed before the period: lowest %s, want its balance before, 0.00 EUR", c.MinLabel)
	}
}

// The time axis has evenly spaced labels as precise as the span needs:
// hours for one day of postings, months for a year.
func TestChartTimeAxis(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	acct := apiclient.Account{Account: bank.Account{Currency: "EUR", CreatedAt: t0}}
	day := buildChart([]bank.Entry{{Time: t0.Add(4 * time.Hour), Amount: 5, BalanceAfter: 5}, {Time: t0, Amount: 0}}, acct, t0.Add(8*time.Hour))
	year := buildChart([]bank.Entry{{Time: t0.AddDate(1, 0, 0), Amount: 5, BalanceAfter: 5}, {Time: t0, Amount: 0}}, acct, t0.AddDate(1, 0, 0))
	for name, c := range map[string]*chart{"one day": day, "one year": year} {
		if len(c.Ticks) != chartTicks || c.Ticks[0].X != chartP || c.Ticks[len(c.Ticks)-1].X != chartW-chartP {
			t.Fatalf("%s: ticks %+v", name, c.Ticks)
		}
		for i := 1; i < len(c.Ticks); i++ {
			if c.Ticks[i].X <= c.Ticks[i-1].X || c.Ticks[i].Label == c.Ticks[i-1].Label {
				t.Errorf("%s: ticks not increasing or repeated: %+v", name, c.Ticks)
			}
		}
	}
	if day.Ticks[0].Label != "Mar 1 09:00" || day.Ticks[4].Label != "Mar 1 17:00" {
		t.Errorf("one day: labels %+v, want hours", day.Ticks)
	}
	if year.Ticks[0].Label != "Mar 2026" || year.Ticks[4].Label != "Mar 2027" {
		t.Errorf("one year: labels %+v, want months", year.Ticks)
	}
}

// Postings minutes apart leave labels that would repeat: only the first
// and the last are kept.
func TestChartAxisWithoutRepeats(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	acct := apiclient.Account{Account: bank.Account{Currency: "EUR", CreatedAt: t0}}
	c := buildChart([]bank.Entry{{Time: t0.Add(time.Minute), Amount: 5, BalanceAfter: 5}, {Time: t0, Amount: 0}}, acct, t0.Add(3*time.Minute))
	if len(c.Ticks) != 2 || c.Ticks[0].Label != "Mar 1 09:00" || c.Ticks[1].Label != "Mar 1 09:03" {
		t.Fatalf("ticks %+v", c.Ticks)
	}
}
