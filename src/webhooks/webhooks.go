// Package webhooks lets customers register HTTPS endpoints for ledger
// events and delivers those events signed with a per-webhook secret.
//
// Signature recipe (what a receiver does): take the header
// "Bank-Signature: t=<unix seconds>,v1=<hex>", compute
// HMAC-SHA256(secret, "<t>.<raw request body>") and compare it with <hex>
// in constant time; reject when t is more than 5 minutes from now (stops
// replays). Verify below is exactly that. Every delivery also carries
// "Bank-Event-Id": deliveries are at least once, so receivers drop ids
// they have already processed.
//
// Targets are customer-chosen URLs fetched from inside the cluster, so by
// default (Options zero value) only https URLs whose host resolves to
// public addresses are accepted, at registration and again at every dial
// (DNS can change between the two), and redirects are not followed (a
// public endpoint could otherwise bounce the request to an internal one).
// Options.AllowPrivate lifts that for local development only.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
)

// Event types.
const (
	TransferCompleted   = "transfer.completed"
	TransferReversed    = "transfer.reversed" // data: the reversal posting, naming the original (reversal_of)
	HoldCaptured        = "hold.captured"
	StatementReady      = "statement.ready"
	StandingOrderFailed = "standing_order.failed"
)

// EventTypes lists every event a webhook can subscribe to.
var EventTypes = []string{TransferCompleted, TransferReversed, HoldCaptured, StatementReady, StandingOrderFailed}

// Headers of a delivery.
const (
	HeaderSignature = "Bank-Signature"
	HeaderEventID   = "Bank-Event-Id"
	HeaderEventType = "Bank-Event-Type"
)

// Tolerance is how far a signature's timestamp may be from the receiver's clock.
const Tolerance = 5 * time.Minute

// MaxPerOwner bounds how many webhooks one customer may register.
const MaxPerOwner = 10

// Webhook is a registered endpoint. Secret is only shown when created.
type Webhook struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Event is what a webhook receives as its JSON body.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// Options decide which endpoints webhooks may target.
type Options struct {
	// AllowPrivate accepts plain http and hosts on loopback, private,
	// link-local and other non-public addresses. Only for a laptop or a
	// test with local receivers (`bank dev` sets it): in a cluster it
	// would let customers make the bank call its own internal services
	// and the cloud metadata endpoint.
	AllowPrivate bool
	// Resolver looks up hosts at registration; nil: net.DefaultResolver.
	Resolver *net.Resolver
}

// Store keeps webhooks in Redis next to the ledger.
type Store struct {
	pool *redis.Pool
	opt  Options
}

// NewStore returns a store on pool that registers only URLs opt allows.
func NewStore(pool *redis.Pool, opt Options) *Store { return &Store{pool: pool, opt: opt} }

func hookKey(id string) string          { return keyspace.Webhook + id }
func ownerKey(owner string) string      { return keyspace.WebhookOwner + owner }
func deliveredKey(id, ev string) string { return keyspace.WebhookDelivered + id + ":" + ev }

// ErrNotFound is returned for a webhook that does not exist or is not the caller's.
var ErrNotFound = &bank.Error{Kind: bank.KindNotFound, Code: "webhook_not_found", Message: "webhook not found"}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// nonPublic are ranges that the net/netip predicates below do not cover
// but that are not the public internet either.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT, used for pods/services by some clusters
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: embeds an IPv4 address that may be private
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001::/32"),      // Teredo: embeds an IPv4 address
}

// v4at names the bytes of an IPv6 address that hold an IPv4 address.
type v4at [4]int

// low32 is where most forms keep it: the last 32 bits.
var low32 = v4at{12, 13, 14, 15}

// ipv4In are the IPv6 forms that carry an IPv4 address (which a host,
// translator or tunnel may deliver to) and where it may sit; xor: stored
// inverted (Teredo's client). NAT64, 6to4 and Teredo are refused whole
// above; their embedded address is checked too, so that this stays true
// if those ranges are ever allowed.
var ipv4In = []struct {
	prefix netip.Prefix
	at     []v4at
	xor    bool
}{
	{netip.MustParsePrefix("::/96"), []v4at{low32}, false},           // IPv4-compatible (deprecated): ::127.0.0.1
	{netip.MustParsePrefix("::ffff:0:0/96"), []v4at{low32}, false},   // IPv4-mapped: ::ffff:127.0.0.1
	{netip.MustParsePrefix("::ffff:0:0:0/96"), []v4at{low32}, false}, // IPv4-translated (SIIT): ::ffff:0:7f00:1
	{netip.MustParsePrefix("64:ff9b::/96"), []v4at{low32}, false},    // NAT64 well-known prefix
	// Local-use NAT64 (RFC 8215) may use any RFC 6052 prefix length from
	// /48 on (/48, /56, /64, /96; byte 8 is never part of the address).
	{netip.MustParsePrefix("64:ff9b:1::/48"), []v4at{{6, 7, 9, 10}, {7, 9, 10, 11}, {9, 10, 11, 12}, low32}, false},
	{netip.MustParsePrefix("2002::/16"), []v4at{{2, 3, 4, 5}}, false}, // 6to4: the IPv4 in bits 16-48
	{netip.MustParsePrefix("2001::/32"), []v4at{{4, 5, 6, 7}}, false}, // Teredo server
	{netip.MustParsePrefix("2001::/32"), []v4at{low32}, true},         // Teredo client, inverted
}

// embeddedIPv4 returns the IPv4 addresses that IPv6 address a carries,
// in any of the forms above or as an ISATAP interface identifier
// (::0:5efe:a.b.c.d or ::200:5efe:a.b.c.d in any /64).
func embeddedIPv4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	b := a.As16()
	v4 := func(at v4at, xor bool) netip.Addr {
		var q [4]byte
		for j, i := range at {
			q[j] = b[i]
			if xor {
				q[j] ^= 0xff
			}
		}
		return netip.AddrFrom4(q)
	}
	var out []netip.Addr
	for _, e := range ipv4In {
		if e.prefix.Contains(a) {
			for _, at := range e.at {
				out = append(out, v4(at, e.xor))
			}
		}
	}
	if (b[8] == 0 || b[8] == 2) && b[9] == 0 && b[10] == 0x5e && b[11] == 0xfe {
		out = append(out, v4(low32, false))
	}
	return out
}

// PublicAddr reports whether a is an address a webhook may reach by
// default: not loopback, private, link-local, unspecified, multicast or
// one of the special ranges above, and, for an IPv6 address that embeds
// an IPv4 address, neither is that.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	for _, v4 := range embeddedIPv4(a) {
		if !PublicAddr(v4) {
			return false
		}
	}
	return true
}

func invalidURL(f string, a ...any) error {
	return bank.Errorf(bank.KindInvalid, "invalid_url", f, a...)
}

// ValidateURL accepts absolute URLs without credentials: https, with a
// host that resolves only to public addresses, unless o.AllowPrivate
// (then http and any address too). The dialer checks the addresses again
// at delivery, so a host re-pointed after registration gains nothing.
func (o Options) ValidateURL(ctx context.Context, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(s) > 2000 {
		return invalidURL("url must be an absolute http(s) URL without credentials")
	}
	if o.AllowPrivate {
		return nil
	}
	if u.Scheme != "https" {
		return invalidURL("url must be https")
	}
	return o.checkHost(ctx, u.Hostname())
}

// checkHost accepts a host that is, or resolves only to, public addresses.
func (o Options) checkHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if !PublicAddr(a) {
			return invalidURL("url must not point at a loopback, private, link-local or other internal address")
		}
		return nil
	}
	r := o.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return invalidURL("url host %q does not resolve", host)
	}
	for _, a := range addrs {
		if !PublicAddr(a) {
			return invalidURL("url host %q resolves to an internal address", host)
		}
	}
	return nil
}

// ErrForbiddenAddress is returned (wrapped) when a delivery would connect
// to an address Options do not allow.
var ErrForbiddenAddress = errors.New("webhooks: target address is not public")

// NewClient returns the HTTP client deliveries use. Unless
// o.AllowPrivate, it refuses at connect time any address that is not
// public (checked on the address actually dialled, after DNS, so a
// rebinding answer cannot slip through) and never uses a proxy (the
// proxy, not the target, would be checked). It never follows redirects:
// a 3xx is returned as is and counts as a failed delivery.
func NewClient(o Options, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !PublicAddr(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			return nil
		}
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Create registers a webhook for owner and returns it with its secret.
func (s *Store) Create(ctx context.Context, owner, rawURL string, events []string, now time.Time) (Webhook, error) {
	if err := s.opt.ValidateURL(ctx, rawURL); err != nil {
		return Webhook{}, err
	}
	if len(events) == 0 {
		events = EventTypes
	}
	seen := map[string]bool{}
	var evs []string
	for _, e := range events {
		if !slices.Contains(EventTypes, e) {
			return Webhook{}, bank.Errorf(bank.KindInvalid, "invalid_event", "unknown event %q; use %s", e, strings.Join(EventTypes, ", "))
		}
		if !seen[e] {
			seen[e] = true
			evs = append(evs, e)
		}
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return Webhook{}, err
	}
	defer c.Close()
	n, err := redis.Int(c.Do("ZCARD", ownerKey(owner)))
	if err != nil {
		return Webhook{}, fmt.Errorf("webhooks: %w", err)
	}
	if n >= MaxPerOwner {
		return Webhook{}, bank.Errorf(bank.KindRejected, "too_many_webhooks", "at most %d webhooks per customer", MaxPerOwner)
	}
	h := Webhook{ID: "wh_" + randomHex(12), Owner: owner, URL: rawURL, Events: evs, Secret: "whsec_" + randomHex(32), CreatedAt: now.UTC()}
	c.Send("MULTI")
	c.Send("HSET", hookKey(h.ID), "id", h.ID, "owner", owner, "url", h.URL, "events", strings.Join(evs, ","),
		"secret", h.Secret, "created", now.UnixMilli())
	c.Send("ZADD", ownerKey(owner), now.UnixMilli(), h.ID)
	if _, err := c.Do("EXEC"); err != nil {
		return Webhook{}, fmt.Errorf("webhooks: %w", err)
	}
	return h, nil
}

func load(c redis.Conn, id string) (Webhook, error) {
	m, err := redis.StringMap(c.Do("HGETALL", hookKey(id)))
	if err != nil {
		return Webhook{}, fmt.Errorf("webhooks: %w", err)
	}
	if len(m) == 0 {
		return Webhook{}, ErrNotFound
	}
	ms, _ := strconv.ParseInt(m["created"], 10, 64)
	return Webhook{ID: m["id"], Owner: m["owner"], URL: m["url"], Events: strings.Split(m["events"], ","),
		Secret: m["secret"], CreatedAt: time.UnixMilli(ms).UTC()}, nil
}

// Get returns a webhook with its secret (for delivery); owner "" skips
// the ownership check.
func (s *Store) Get(ctx context.Context, owner, id string) (Webhook, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return Webhook{}, err
	}
	defer c.Close()
	h, err := load(c, id)
	if err == nil && owner != "" && h.Owner != owner {
		return Webhook{}, ErrNotFound
	}
	return h, err
}

// List returns owner's webhooks, oldest first, without secrets.
func (s *Store) List(ctx context.Context, owner string) ([]Webhook, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ids, err := redis.Strings(c.Do("ZRANGE", ownerKey(owner), 0, -1))
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	out := make([]Webhook, 0, len(ids))
	for _, id := range ids {
		h, err := load(c, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		h.Secret = ""
		out = append(out, h)
	}
	return out, nil
}

// Delete removes owner's webhook; queued deliveries to it are dropped.
func (s *Store) Delete(ctx context.Context, owner, id string) error {
	if _, err := s.Get(ctx, owner, id); err != nil {
		return err
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Send("MULTI")
	c.Send("DEL", hookKey(id))
	c.Send("ZREM", ownerKey(owner), id)
	_, err = c.Do("EXEC")
	return err
}

// Subscribed returns the webhooks of owner that want event type typ.
func (s *Store) Subscribed(ctx context.Context, owner, typ string) ([]Webhook, error) {
	hooks, err := s.List(ctx, owner)
	if err != nil {
		return nil, err
	}
	var out []Webhook
	for _, h := range hooks {
		if slices.Contains(h.Events, typ) {
			out = append(out, h)
		}
	}
	return out, nil
}

// Sign returns the Bank-Signature header value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by Verify for anything but a valid, fresh signature.
var ErrBadSignature = errors.New("webhooks: signature does not verify")

// Verify checks a Bank-Signature header against body, as a receiver does.
func Verify(secret, header string, body []byte, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrBadSignature
	}
	if !hmac.Equal([]byte(mac(secret, ts, body)), []byte(sig)) {
		return ErrBadSignature
	}
	return nil
}

// Deliverer sends events. Client should come from NewClient with the
// same Options as the Store's: it is what enforces them at dial time.
type Deliverer struct {
	Store  *Store
	Client *http.Client
	Now    func() time.Time
}

// Deliver posts the event body to webhook id once it succeeds (2xx):
// a later call for the same event is a no-op. A webhook deleted since is
// not an error (nothing to deliver to). Any other outcome is an error so
// that the job is retried with backoff.
func (d *Deliverer) Deliver(ctx context.Context, hookID, eventID, eventType string, body []byte) error {
	h, err := d.Store.Get(ctx, "", hookID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := d.Store.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	done, err := redis.Bool(c.Do("EXISTS", deliveredKey(hookID, eventID)))
	c.Close()
	if err != nil || done {
		return err
	}
	// Webhooks registered before https was required (or by a dev setup)
	// are not sent in clear text to a cluster's customers' endpoints.
	if u, err := url.Parse(h.URL); err != nil || (!d.Store.opt.AllowPrivate && u.Scheme != "https") {
		return fmt.Errorf("webhooks: %s: url must be https", hookID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kubebank-webhooks/1")
	req.Header.Set(HeaderEventID, eventID)
	req.Header.Set(HeaderEventType, eventType)
	req.Header.Set(HeaderSignature, Sign(h.Secret, d.Now(), body))
	resp, err := d.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhooks: %s: %w", hookID, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	// Redirects are not followed (NewClient): a 3xx is a failure too.
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhooks: %s answered %d", hookID, resp.StatusCode)
	}
	c, err = d.Store.pool.GetContext(ctx)
	if err != nil {
		return nil // delivered; a retry would repeat it, which receivers tolerate
	}
	defer c.Close()
	_, _ = c.Do("SET", deliveredKey(hookID, eventID), 1, "EX", 7*24*3600)
	return nil
}

// NewEvent builds an event with a deterministic id from its business key
// (e.g. "transfer.completed:tr_…"), so a job run twice announces the same id.
func NewEvent(typ, businessKey string, at time.Time, data any) (Event, []byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, nil, err
	}
	sum := sha256.Sum256([]byte(typ + "|" + businessKey))
	ev := Event{ID: "evt_" + hex.EncodeToString(sum[:12]), Type: typ, CreatedAt: at.UTC(), Data: raw}
	body, err := json.Marshal(ev)
	return ev, body, err
}
