package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/src/web/webtest"
)

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see each 303 of POST/redirect/GET.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, st *webtest.Stack) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: st.Web.URL, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type resp struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	r, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	return resp{r, string(body)}
}

func (b *browser) get(path string) resp {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, headers ...string) resp {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// follow GETs the redirect target of r.
func (b *browser) follow(r resp) resp {
	b.t.Helper()
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("want 303, got %d: %s", r.StatusCode, snippet(r.body))
	}
	return b.get(r.Header.Get("Location"))
}

// login logs in a customer, who lands on the dashboard.
func (b *browser) login(user, pw string) { b.loginTo(user, pw, "/dashboard") }

// staffLogin logs in a teller or admin, who lands on the teller console.
func (b *browser) staffLogin(user, pw string) { b.loginTo(user, pw, "/teller") }

func (b *browser) loginTo(user, pw, landing string) {
	b.t.Helper()
	r := b.post("/login", url.Values{"username": {user}, "password": {pw}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != landing {
		b.t.Fatalf("login %s: %d %s, want a 303 to %s: %s", user, r.StatusCode, r.Header.Get("Location"), landing, snippet(r.body))
	}
}

func (b *browser) signup(user, pw string) {
	b.t.Helper()
	r := b.post("/signup", url.Values{"username": {user}, "password": {pw}, "confirm": {pw}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/dashboard" {
		b.t.Fatalf("signup %s: %d %s: %s", user, r.StatusCode, r.Header.Get("Location"), snippet(r.body))
	}
}

var keyRe = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

// idemKeys returns the idempotency keys of the forms on a page.
func idemKeys(t testing.TB, body string) []string {
	t.Helper()
	var out []string
	for _, m := range keyRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatalf("no idempotency key on page: %s", snippet(body))
	}
	return out
}

func snippet(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func mustContain(t testing.TB, r resp, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("page (status %d) lacks %q:\n%s", r.StatusCode, p, snippet(r.body))
		}
	}
}

func mustStatus(t testing.TB, r resp, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, code, snippet(r.body))
	}
}
