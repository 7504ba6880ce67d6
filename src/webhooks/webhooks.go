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
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/bank"
)

// Event types.
const (
	TransferCompleted   = "transfer.completed"
	HoldCaptured        = "hold.captured"
	StatementReady      = "statement.ready"
	StandingOrderFailed = "standing_order.failed"
)

// EventTypes lists every event a webhook can subscribe to.
var EventTypes = []string{TransferCompleted, HoldCaptured, StatementReady, StandingOrderFailed}

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

// Store keeps webhooks in Redis next to the ledger.
type Store struct{ pool *redis.Pool }

// NewStore returns a store on pool.
func NewStore(pool *redis.Pool) *Store { return &Store{pool: pool} }

func hookKey(id string) string          { return "bank:webhook:" + id }
func ownerKey(owner string) string      { return "bank:webhooks:" + owner }
func deliveredKey(id, ev string) string { return "bank:webhook-delivered:" + id + ":" + ev }

// ErrNotFound is returned for a webhook that does not exist or is not the caller's.
var ErrNotFound = &bank.Error{Kind: bank.KindNotFound, Code: "webhook_not_found", Message: "webhook not found"}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ValidateURL accepts absolute http(s) URLs without credentials.
func ValidateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(s) > 2000 {
		return bank.Errorf(bank.KindInvalid, "invalid_url", "url must be an absolute http(s) URL without credentials")
	}
	return nil
}

// Create registers a webhook for owner and returns it with its secret.
func (s *Store) Create(ctx context.Context, owner, rawURL string, events []string, now time.Time) (Webhook, error) {
	if err := ValidateURL(rawURL); err != nil {
		return Webhook{}, err
	}
	if len(events) == 0 {
		events = EventTypes
	}
	seen := map[string]bool{}
	var evs []string
	for _, e := range events {
		ok := false
		for _, k := range EventTypes {
			ok = ok || e == k
		}
		if !ok {
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
		for _, e := range h.Events {
			if e == typ {
				out = append(out, h)
				break
			}
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

// Deliverer sends events.
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, strings.NewReader(string(body)))
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
