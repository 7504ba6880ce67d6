package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kubebank/kubebank/src/demo"
	"github.com/kubebank/kubebank/src/web/webtest"
)

// The README's screenshots show exactly what a fresh `make run` shows: the
// demo data (src/demo), seeded as `bank dev` seeds it, at desktop and phone
// width. They are written to test-output/ on every run (the account page
// too) and the dashboard into docs/screenshots/ with
// BANK_UPDATE_SCREENSHOTS=1 (`make screenshots`).
func TestScreenshotsOfTheDemo(t *testing.T) {
	st := webtest.Start(t, webtest.Options{})
	accts, err := demo.Seed(context.Background(), demo.Deps{Pool: st.Pool, Auth: st.Auth, Location: time.UTC}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	checking := accts["alice"][0].Number
	ctx := newBrowser(t)
	base := st.Web.URL
	step(t, ctx, "open login", chromedp.Navigate(base+"/login"))
	step(t, ctx, "fill login", fill("#username", "alice", "#password", demo.Users[0].Password)...)
	submit(t, ctx, `form[action="/login"] button`)
	pages := []struct {
		name, path, mustShow string
		readme               bool // shown in the README (docs/screenshots/)
	}{
		{"dashboard", "/dashboard", "Everyday", true},
		{"account", "/accounts/" + checking, "Rent", false},
	}
	// The demo's pages carry every kind of list (history, holds,
	// statements): each passes axe and fits a phone.
	for _, p := range pages {
		step(t, ctx, "open "+p.name, chromedp.Navigate(base+p.path))
		checkPage(t, ctx, "demo-"+p.name)
	}
	step(t, ctx, "standing orders", chromedp.Navigate(base+"/standing-orders"))
	checkPage(t, ctx, "demo-standing-orders")
	for _, size := range []struct {
		suffix string
		w, h   int64
	}{{"", 1280, 900}, {"-phone", 390, 844}} {
		for _, p := range pages {
			step(t, ctx, p.name+size.suffix, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+p.path))
			if body := text(t, ctx, "main"); !strings.Contains(body, p.mustShow) {
				t.Fatalf("%s shows no %q: the demo data is missing", p.name, p.mustShow)
			}
			saved := shot(t, ctx, "readme-"+p.name+size.suffix)
			if saved == "" {
				t.Fatalf("no screenshot of %s", p.name)
			}
			if p.readme && os.Getenv("BANK_UPDATE_SCREENSHOTS") == "1" {
				copyFile(t, saved, filepath.Join("..", "..", "docs", "screenshots", p.name+size.suffix+".png"))
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
