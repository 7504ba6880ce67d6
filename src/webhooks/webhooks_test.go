package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/redistest"
	"github.com/kubebank/kubebank/src/webhooks"
)

func TestRegistrationRefusesInternalTargets(t *testing.T) {
	ctx := context.Background()
	store := webhooks.NewStore(redistest.Start(t).Pool(t), webhooks.Options{})
	for _, u := range []string{
		"http://203.0.113.10/hook",            // clear text
		"https://127.0.0.1/hook",              // loopback
		"https://localhost:8000/hook",         // a name for loopback
		"https://[::1]/hook",                  // IPv6 loopback
		"https://[::ffff:127.0.0.1]/hook",     // IPv4-mapped loopback
		"https://169.254.169.254/latest/meta", // cloud metadata (link-local)
		"https://10.96.0.1/api",               // cluster service range (private)
		"https://192.168.1.1/", "https://172.16.0.1/", "https://[fd00::1]/",
		"https://0.0.0.0/", "https://100.64.0.1/", "https://224.0.0.1/",
		"https://no-such-host.invalid/hook", // cannot be checked: refused
		// IPv6 forms that embed a refused IPv4 address:
		"https://[::127.0.0.1]/hook",             // IPv4-compatible loopback
		"https://[::10.96.0.1]/hook",             // IPv4-compatible private
		"https://[::ffff:0:7f00:1]/hook",         // IPv4-translated loopback
		"https://[::ffff:0:a9fe:a9fe]/latest",    // IPv4-translated metadata
		"https://[::ffff:a9fe:a9fe]/latest",      // IPv4-mapped metadata
		"https://[64:ff9b::a00:1]/",              // NAT64 of 10.0.0.1
		"https://[64:ff9b:1::7f:0:100:0]/",       // local-use NAT64 /64 of 127.0.0.1
		"https://[2002:a9fe:a9fe::1]/",           // 6to4 of the metadata address
		"https://[2001:0:7f00:1::1]/",            // Teredo server 127.0.0.1
		"https://[2001:0:cb00:710a::f5ff:fffe]/", // Teredo client 10.0.0.1 (inverted)
		"https://[2a00:1450:4001::5efe:a00:1]/",  // ISATAP interface id of 10.0.0.1
	} {
		if _, err := store.Create(ctx, "alice", u, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "url") {
			t.Errorf("%s registered (err %v), want invalid_url", u, err)
		}
	}
	for _, u := range []string{"https://203.0.113.10/hook", "https://[2a00:1450:4001:80b::200e]/hook"} {
		if _, err := store.Create(ctx, "alice", u, nil, time.Now()); err != nil {
			t.Fatalf("public https URL %s refused: %v", u, err)
		}
	}
	// The explicit opt-in (bank dev, tests) accepts local http receivers.
	dev := webhooks.NewStore(redistest.Start(t).Pool(t), webhooks.Options{AllowPrivate: true})
	if _, err := dev.Create(ctx, "alice", "http://127.0.0.1:9/hook", nil, time.Now()); err != nil {
		t.Fatalf("AllowPrivate refused a local receiver: %v", err)
	}
}

type counter struct{ n atomic.Int64 }

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) { c.n.Add(1) }

// A webhook whose host now resolves to an internal address (DNS
// rebinding, or a stored URL from before the rules) is refused when the
// delivery dials, not only at registration.
func TestDeliveryRefusesInternalAddressAtDialTime(t *testing.T) {
	ctx := context.Background()
	pool := redistest.Start(t).Pool(t)
	rc := &counter{}
	srv := httptest.NewTLSServer(rc)
	defer srv.Close()
	// Stored through a permissive store: stands in for a host that
	// resolved publicly when it was registered.
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	h, err := webhooks.NewStore(pool, webhooks.Options{AllowPrivate: true}).Create(ctx, "alice", local, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	client := webhooks.NewClient(webhooks.Options{}, 5*time.Second)
	client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	d := &webhooks.Deliverer{Store: webhooks.NewStore(pool, webhooks.Options{}), Client: client, Now: time.Now}
	err = d.Deliver(ctx, h.ID, "evt_1", webhooks.TransferCompleted, []byte(`{}`))
	if !errors.Is(err, webhooks.ErrForbiddenAddress) {
		t.Fatalf("delivery to %s: %v, want ErrForbiddenAddress", local, err)
	}
	if n := rc.n.Load(); n != 0 {
		t.Fatalf("internal receiver got %d requests", n)
	}
}

// The dialer refuses an IPv6 address that embeds a loopback IPv4 one
// (a host may resolve to it after registration) before connecting.
func TestDialRefusesEmbeddedIPv4(t *testing.T) {
	client := webhooks.NewClient(webhooks.Options{}, 5*time.Second)
	for _, u := range []string{"https://[::127.0.0.1]:1/", "https://[::ffff:0:7f00:1]:1/", "https://[::ffff:127.0.0.1]:1/"} {
		res, err := client.Get(u)
		if err == nil {
			res.Body.Close()
		}
		if !errors.Is(err, webhooks.ErrForbiddenAddress) {
			t.Errorf("dial %s: %v, want ErrForbiddenAddress", u, err)
		}
	}
}

// A receiver answering with a redirect does not get it followed (it could
// point at an internal service); the delivery fails and is retried.
func TestDeliveryDoesNotFollowRedirects(t *testing.T) {
	ctx := context.Background()
	pool := redistest.Start(t).Pool(t)
	target := &counter{}
	inner := httptest.NewServer(target)
	defer inner.Close()
	redirect := httptest.NewServer(http.RedirectHandler(inner.URL+"/secret", http.StatusFound))
	defer redirect.Close()
	opt := webhooks.Options{AllowPrivate: true} // both ends are local test servers
	store := webhooks.NewStore(pool, opt)
	h, err := store.Create(ctx, "alice", redirect.URL, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := &webhooks.Deliverer{Store: store, Client: webhooks.NewClient(opt, 5*time.Second), Now: time.Now}
	err = d.Deliver(ctx, h.ID, "evt_1", webhooks.TransferCompleted, []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("delivery answered by a redirect: %v, want a failure naming the 302", err)
	}
	if n := target.n.Load(); n != 0 {
		t.Fatalf("redirect was followed: target got %d requests", n)
	}
}
