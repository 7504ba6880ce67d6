package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/redistest"
)

func newService(t *testing.T, limits auth.Limits) *auth.Service {
	s, _ := newServicePool(t, limits)
	return s
}

func newServicePool(t *testing.T, limits auth.Limits) (*auth.Service, *redis.Pool) {
	t.Helper()
	srv := redistest.Start(t)
	p := srv.Pool(t)
	return auth.New(p, limits), p
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("correct horse", auth.DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=12288,t=3,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the default parameters", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
	if ok, err := auth.VerifyPassword("correct horse", h); err != nil || !ok {
		t.Fatalf("right password: ok=%v err=%v", ok, err)
	}
	if ok, _ := auth.VerifyPassword("correct horsf", h); ok {
		t.Fatal("wrong password verified")
	}
	// A hash made with the earlier default (OWASP's 19 MiB, 2 passes)
	// still verifies: it names its own parameters.
	old, err := auth.HashPassword("correct horse", auth.Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1})
	if err != nil || !strings.HasPrefix(old, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("earlier default: %q, %v", old, err)
	}
	if ok, err := auth.VerifyPassword("correct horse", old); err != nil || !ok {
		t.Fatalf("a hash of the earlier default: ok=%v err=%v", ok, err)
	}
	if ok, _ := auth.VerifyPassword("correct horsf", old); ok {
		t.Fatal("wrong password verified against a hash of the earlier default")
	}
	h2, _ := auth.HashPassword("correct horse", auth.DefaultArgon2)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	if _, err := auth.VerifyPassword("x", "$2a$10$bcrypt"); err == nil {
		t.Fatal("foreign hash format accepted")
	}
}

func TestUsersAndTokens(t *testing.T) {
	ctx := context.Background()
	s, pool := newServicePool(t, auth.DefaultLimits)
	now := time.Now()
	s.Now = func() time.Time { return now }

	u, err := s.CreateUser(ctx, "Alice", "s3cret-pass", bank.Customer)
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.Role != bank.Customer || u.ID == "" {
		t.Fatalf("user %+v", u)
	}
	if _, err := s.CreateUser(ctx, "ALICE", "another-pass", bank.Teller); !errors.Is(err, auth.ErrUsernameTaken) {
		t.Fatalf("duplicate username (case-insensitive): %v", err)
	}
	for _, bad := range []string{"al", "al ice", "аlice" /* Cyrillic а */, "-alice", strings.Repeat("a", 33), "alice\x00"} {
		if _, err := s.CreateUser(ctx, bad, "s3cret-pass", bank.Customer); bank.ErrorCode(err) != "invalid_username" {
			t.Errorf("username %q: got %v, want invalid_username", bad, err)
		}
	}
	if _, err := s.CreateUser(ctx, "bob", "short", bank.Customer); bank.ErrorCode(err) != "invalid_password" {
		t.Errorf("short password: %v", err)
	}
	if _, err := s.CreateUser(ctx, "bob", "long-enough", bank.Role("root")); bank.ErrorCode(err) != "invalid_role" {
		t.Errorf("bad role: %v", err)
	}

	sess, err := s.Login(ctx, "alice", "s3cret-pass", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sess.Token, "kbt_") || !sess.ExpiresAt.After(now) {
		t.Fatalf("session %+v", sess)
	}
	got, err := s.Authenticate(ctx, sess.Token)
	if err != nil || got.ID != u.ID {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	// The token itself is not stored, only its hash.
	conn := pool.Get()
	keys, _ := redis.Strings(conn.Do("KEYS", "bank:token:*"))
	conn.Close()
	if len(keys) != 1 || keys[0] != "bank:token:"+auth.HashToken(sess.Token) || strings.Contains(keys[0], sess.Token) {
		t.Fatalf("token keys %v", keys)
	}
	// Alter the last character (to one it is not: a token ending in "A"
	// made an "altered" copy equal to the original, 1 run in 64).
	altered := sess.Token[:len(sess.Token)-1] + "A"
	if altered == sess.Token {
		altered = sess.Token[:len(sess.Token)-1] + "B"
	}
	if _, err := s.Authenticate(ctx, altered); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("altered token accepted: %v", err)
	}
	// Expiry is enforced even if Redis has not yet dropped the key.
	now = now.Add(s.TokenTTL + time.Second)
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("expired token accepted: %v", err)
	}
	now = time.Now()
	sess2, err := s.Login(ctx, "ALICE", "s3cret-pass", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, sess2.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess2.Token); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("revoked token accepted: %v", err)
	}
	if _, err := s.Login(ctx, "alice", "wrong-pass", "10.0.0.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.Login(ctx, "nobody", "wrong-pass", "10.0.0.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}

	if _, err := s.CreateUser(ctx, "alan", "s3cret-pass", bank.Customer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "bert", "s3cret-pass", bank.Customer); err != nil {
		t.Fatal(err)
	}
	found, err := s.SearchUsers(ctx, "al", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].Username != "alan" || found[1].Username != "alice" {
		t.Fatalf("search al: %+v", found)
	}
	if _, err := s.SearchUsers(ctx, "a*", 10); bank.ErrorCode(err) != "invalid_query" {
		t.Fatalf("search with pattern characters: %v", err)
	}
}

func TestLoginRateLimits(t *testing.T) {
	ctx := context.Background()
	s := newService(t, auth.Limits{FailuresPerUser: 3, AttemptsPerUser: 3, UserWindow: time.Minute, AttemptsPerAddr: 6, AddrWindow: time.Minute,
		RegisterPerAddr: 2, RegisterWindow: time.Minute})
	if _, err := s.CreateUser(ctx, "carol", "s3cret-pass", bank.Customer); err != nil {
		t.Fatal(err)
	}
	// Three failures for carol from different addresses, then even the
	// right password is refused: the per-user limit stops distributed guessing.
	for i := 0; i < 3; i++ {
		if _, err := s.Login(ctx, "carol", "wrong-pass", "10.0.1."+string(rune('1'+i))); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := s.Login(ctx, "carol", "s3cret-pass", "10.0.1.9")
	var le *auth.LimitError
	if !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > time.Minute || bank.ErrorCode(err) != "rate_limited" {
		t.Fatalf("4th attempt: %v", err)
	}
	// Per address: 6 attempts, the 7th is refused whatever the username.
	for i := 0; i < 6; i++ {
		s.Login(ctx, "user"+string(rune('a'+i)), "whatever-pass", "10.0.2.1")
	}
	if _, err := s.Login(ctx, "someone", "whatever-pass", "10.0.2.1"); !errors.As(err, &le) {
		t.Fatalf("7th attempt from one address: %v", err)
	}
	// Another address is unaffected.
	if _, err := s.Login(ctx, "someone", "whatever-pass", "10.0.2.2"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("other address: %v", err)
	}
	// Registrations per address.
	for i, name := range []string{"dave", "erin"} {
		if _, err := s.Register(ctx, name, "s3cret-pass", "10.0.3.1"); err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	if _, err := s.Register(ctx, "frank", "s3cret-pass", "10.0.3.1"); !errors.As(err, &le) {
		t.Fatalf("3rd registration: %v", err)
	}
	if _, err := s.UserByName(ctx, "frank"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Fatalf("rate-limited registration created a user: %v", err)
	}
}

func TestSuccessfulLoginClearsFailures(t *testing.T) {
	ctx := context.Background()
	s := newService(t, auth.Limits{FailuresPerUser: 2, UserWindow: time.Minute, AttemptsPerAddr: 100, AddrWindow: time.Minute,
		RegisterPerAddr: 10, RegisterWindow: time.Minute})
	if _, err := s.CreateUser(ctx, "gina", "s3cret-pass", bank.Customer); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		if _, err := s.Login(ctx, "gina", "wrong-pass", "10.0.0.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := s.Login(ctx, "gina", "s3cret-pass", "10.0.0.1"); err != nil {
			t.Fatalf("round %d: one failure then success should pass: %v", round, err)
		}
	}
}

// Concurrent guesses cannot slip past the per-user limit: each attempt is
// counted before its password is checked.
func TestConcurrentGuessesAreLimited(t *testing.T) {
	ctx := context.Background()
	s := newService(t, auth.Limits{FailuresPerUser: 5, AttemptsPerUser: 5, UserWindow: time.Minute, AttemptsPerAddr: 1000, AddrWindow: time.Minute,
		RegisterPerAddr: 10, RegisterWindow: time.Minute})
	if _, err := s.CreateUser(ctx, "hana", "s3cret-pass", bank.Customer); err != nil {
		t.Fatal(err)
	}
	var checked, refused atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.Login(ctx, "hana", "wrong-pass", fmt.Sprintf("10.9.0.%d", i))
			var le *auth.LimitError
			switch {
			case errors.Is(err, auth.ErrInvalidCredentials):
				checked.Add(1)
			case errors.As(err, &le):
				refused.Add(1)
			default:
				t.Errorf("attempt %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if checked.Load() != 5 || refused.Load() != 35 {
		t.Fatalf("%d passwords checked and %d refused, want 5 and 35", checked.Load(), refused.Load())
	}
}

// A guesser on one address is stopped without locking the real user out:
// attempts refused per username and address do not count towards the
// username's total.
func TestGuesserCannotLockOutTheUser(t *testing.T) {
	ctx := context.Background()
	s := newService(t, auth.Limits{FailuresPerUser: 5, AttemptsPerUser: 20, UserWindow: time.Minute, AttemptsPerAddr: 1000, AddrWindow: time.Minute,
		RegisterPerAddr: 10, RegisterWindow: time.Minute})
	if _, err := s.CreateUser(ctx, "tina", "s3cret-pass", bank.Teller); err != nil {
		t.Fatal(err)
	}
	var le *auth.LimitError
	for i := 0; i < 100; i++ {
		_, err := s.Login(ctx, "tina", "wrong-pass", "203.0.113.66")
		if i < 5 && !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
		if i >= 5 && !errors.As(err, &le) {
			t.Fatalf("guess %d from the same address was not refused: %v", i, err)
		}
	}
	if _, err := s.Login(ctx, "tina", "s3cret-pass", "198.51.100.20"); err != nil {
		t.Fatalf("the real user on another address is locked out: %v", err)
	}
}

// A login with a hash of older cost parameters moves the user to the
// current ones (so every login, and an unknown user's, costs the same),
// keeps the password working, and never undoes a password set meanwhile.
func TestLoginRehashesOlderHashes(t *testing.T) {
	ctx := context.Background()
	s, pool := newServicePool(t, auth.DefaultLimits)
	old := auth.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}
	s.Argon2 = old
	u, err := s.CreateUser(ctx, "olga", "s3cret-pass", bank.Customer)
	if err != nil {
		t.Fatal(err)
	}
	c := pool.Get()
	defer c.Close()
	stored := func() string {
		h, err := redis.String(c.Do("HGET", keyspace.User+u.ID, "pw"))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := stored()
	s.Argon2 = auth.Argon2Params{MemoryKiB: 2048, Time: 2, Threads: 1}
	if _, err := s.Login(ctx, "olga", "wrong-pass-1", "10.0.0.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if stored() != before {
		t.Fatal("a failed login changed the hash")
	}
	if _, err := s.Login(ctx, "olga", "s3cret-pass", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	after := stored()
	if !strings.HasPrefix(after, "$argon2id$v=19$m=2048,t=2,p=1$") {
		t.Fatalf("after the login the hash is %s, want the current parameters", after)
	}
	if _, err := s.Login(ctx, "olga", "s3cret-pass", "10.0.0.1"); err != nil || stored() != after {
		t.Fatalf("a login with the current hash: %v, and it rehashed again: %v", err, stored() != after)
	}
	// A hash set between the check and the rehash stays.
	s.Argon2 = auth.Argon2Params{MemoryKiB: 4096, Time: 1, Threads: 1}
	if _, err := c.Do("HSET", keyspace.User+u.ID, "pw", before); err != nil {
		t.Fatal(err)
	}
	auth.Rehash(ctx, s, u.ID, after, "s3cret-pass")
	if stored() != before {
		t.Fatal("the rehash overwrote a hash set after the login's check")
	}
}
