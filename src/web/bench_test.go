package web_test

import (
	"net/http"
	"testing"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/web/webtest"
)

// BenchmarkPages measures full page times as a browser sees them: the web
// handler, its API calls over loopback HTTP, Redis, and template rendering.
// Run: go test -run '^$' -bench Pages -benchtime 200x ./src/web
func BenchmarkPages(b *testing.B) {
	st := webtest.Start(b, webtest.Options{})
	_, teller := st.CreateUser(b, "teller", pw, bank.Teller)
	br := newBrowser(b, st)
	br.signup("bench", pw)
	sess := mustSessionTB(b, st)
	a := st.OpenAccount(b, sess, "EUR")
	for i := 0; i < 60; i++ {
		st.Deposit(b, teller, a.Number, int64(100+i), "EUR")
	}
	tb := newBrowser(b, st)
	tb.staffLogin("teller", pw)
	for _, p := range []struct {
		name string
		br   *browser
		path string
	}{
		{"dashboard", br, "/dashboard"},
		{"account", br, "/accounts/" + a.Number},
		{"transfer", br, "/transfer"},
		{"teller-search", tb, "/teller?q=ben"},
		{"teller-account", tb, "/teller/accounts/" + a.Number},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if r := p.br.get(p.path); r.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", p.path, r.StatusCode)
				}
			}
		})
	}
}

func mustSessionTB(b *testing.B, st *webtest.Stack) string {
	b.Helper()
	l, err := st.Client.Login(b.Context(), "bench", pw)
	if err != nil {
		b.Fatal(err)
	}
	return l.Token
}
