// Package auth keeps users, password hashes and API tokens in Redis.
//
// Passwords are hashed with argon2id. Tokens are 256 random bits handed to
// the client once; Redis stores only their SHA-256, so a copy of the
// database does not contain usable credentials. A fast hash is enough for
// tokens because they are random, unlike passwords. Tokens expire (Redis
// TTL plus an explicit expiry checked on use) and logout deletes them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/src/luascript"
)

// Key layout: see keyspace.
const (
	keyUser      = keyspace.User
	keyUsername  = keyspace.Username
	keyUsernames = keyspace.Usernames
	keyToken     = keyspace.Token
	tokenPrefix  = "kbt_"
)

// DefaultTokenTTL is how long a login lasts.
const DefaultTokenTTL = 12 * time.Hour

// Errors with stable codes.
var (
	ErrUnauthorized       = bank.ErrUnauthorized
	ErrInvalidCredentials = bank.Errorf(bank.KindUnauthorized, "invalid_credentials", "username or password is wrong")
	ErrUsernameTaken      = bank.Errorf(bank.KindConflict, "username_taken", "this username is already registered")
	ErrUserNotFound       = bank.Errorf(bank.KindNotFound, "user_not_found", "user not found")
)

// Service is the user and token store.
type Service struct {
	pool     *redis.Pool
	TokenTTL time.Duration
	Argon2   Argon2Params
	Now      func() time.Time

	// LoginPerUser counts login attempts per username and client
	// address, LoginPerUserAll per username from every address,
	// LoginPerAddr every login attempt per client address;
	// RegisterPerAddr counts registrations per client address.
	LoginPerUser    *Limiter
	LoginPerUserAll *Limiter
	LoginPerAddr    *Limiter
	RegisterPerAddr *Limiter

	dummyHash string // verified against when the username does not exist, so timing does not reveal it
}

// Limits configures the login and registration rate limits.
type Limits struct {
	// FailuresPerUser counts attempts per username from one client
	// address: a guesser is stopped without locking the real user (on
	// another address) out. AttemptsPerUser counts a username's attempts
	// from every address, against guessing spread over many addresses;
	// zero means ten times FailuresPerUser.
	FailuresPerUser int
	AttemptsPerUser int
	AttemptsPerAddr int
	RegisterPerAddr int
	UserWindow      time.Duration
	AddrWindow      time.Duration
	RegisterWindow  time.Duration
}

// DefaultLimits: 5 login attempts per username and address and 50 per
// username from all addresses per 15 minutes, 100 login attempts per
// address per minute, 100 registrations per address per hour. The
// per-address limits are loose because many people can share one address
// (an office NAT); the per-user limits are what stop guessing.
var DefaultLimits = Limits{
	FailuresPerUser: 5, AttemptsPerUser: 50, UserWindow: 15 * time.Minute,
	AttemptsPerAddr: 100, AddrWindow: time.Minute,
	RegisterPerAddr: 100, RegisterWindow: time.Hour,
}

func perUserAll(l Limits) int {
	if l.AttemptsPerUser > 0 {
		return l.AttemptsPerUser
	}
	return 10 * l.FailuresPerUser
}

// New returns a service on pool.
func New(pool *redis.Pool, limits Limits) *Service {
	s := &Service{pool: pool, TokenTTL: DefaultTokenTTL, Argon2: DefaultArgon2, Now: time.Now,
		LoginPerUser:    NewLimiter(pool, "login-user-addr", limits.FailuresPerUser, limits.UserWindow),
		LoginPerUserAll: NewLimiter(pool, "login-user", perUserAll(limits), limits.UserWindow),
		LoginPerAddr:    NewLimiter(pool, "login-addr", limits.AttemptsPerAddr, limits.AddrWindow),
		RegisterPerAddr: NewLimiter(pool, "register-addr", limits.RegisterPerAddr, limits.RegisterWindow),
	}
	s.dummyHash, _ = HashPassword("not a real password", s.Argon2)
	return s
}

func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// NormalizeUsername lower-cases and validates a username: 3–32 characters
// of a–z, 0–9, '.', '_' or '-', starting with a letter or digit. Only
// ASCII is allowed so that look-alike Unicode names cannot impersonate.
func NormalizeUsername(u string) (string, error) {
	bad := bank.Errorf(bank.KindInvalid, "invalid_username",
		"username must be 3-32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	if len(u) < 3 || len(u) > 32 {
		return "", bad
	}
	u = strings.ToLower(u)
	for i := 0; i < len(u); i++ {
		c := u[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return "", bad
		}
	}
	return u, nil
}

//go:embed scripts/*.lua
var embedded embed.FS

var scripts, _ = fs.Sub(embedded, "scripts")

var (
	createScript  = luascript.Load(scripts, 3, "create_user")
	setRoleScript = luascript.Load(scripts, 1, "set_role")
	// authenticateScript reads a token and its user in one round trip.
	authenticateScript = luascript.Load(scripts, 1, "authenticate")
	rehashScript       = luascript.Load(scripts, 1, "rehash")
)

// CreateUser registers a user with a role.
func (s *Service) CreateUser(ctx context.Context, username, password string, role bank.Role) (bank.User, error) {
	u, err := NormalizeUsername(username)
	if err != nil {
		return bank.User{}, err
	}
	if !role.Valid() {
		return bank.User{}, bank.Errorf(bank.KindInvalid, "invalid_role", "role must be customer, teller, admin or auditor")
	}
	if err := ValidatePassword(password); err != nil {
		return bank.User{}, err
	}
	hash, err := HashPassword(password, s.Argon2)
	if err != nil {
		return bank.User{}, err
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return bank.User{}, fmt.Errorf("auth: redis: %w", err)
	}
	defer c.Close()
	id := newID("u")
	now := s.Now().UTC().Truncate(time.Millisecond)
	_, err = createScript.DoContext(ctx, c, keyUser+id, keyUsername+u, keyUsernames, id, u, string(role), hash, now.UnixMilli(),
		audit.ArgFor(ctx, id))
	var re redis.Error
	if errors.As(err, &re) && strings.Contains(string(re), "username_taken") {
		return bank.User{}, ErrUsernameTaken
	}
	if err != nil {
		return bank.User{}, fmt.Errorf("auth: redis: %w", err)
	}
	return bank.User{ID: id, Username: u, Role: role, CreatedAt: now}, nil
}

// SetRole changes a user's role, effective from their next request.
func (s *Service) SetRole(ctx context.Context, id string, role bank.Role) (bank.User, error) {
	if !role.Valid() {
		return bank.User{}, bank.Errorf(bank.KindInvalid, "invalid_role", "role must be customer, teller, admin or auditor")
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return bank.User{}, fmt.Errorf("auth: redis: %w", err)
	}
	vals, err := redis.Strings(setRoleScript.DoContext(ctx, c, keyUser+id, string(role), audit.ArgFor(ctx, id)))
	c.Close()
	if e, ok := luascript.Refusal(err); ok && e.Code == ErrUserNotFound.Code {
		return bank.User{}, ErrUserNotFound
	}
	if err != nil {
		return bank.User{}, fmt.Errorf("auth: redis: %w", err)
	}
	return userOf(vals), nil
}

func userFrom(m map[string]string) bank.User {
	ms, _ := strconv.ParseInt(m["created"], 10, 64)
	return bank.User{ID: m["id"], Username: m["username"], Role: bank.Role(m["role"]), CreatedAt: time.UnixMilli(ms).UTC()}
}

// User returns a user by id.
func (s *Service) User(ctx context.Context, id string) (bank.User, error) {
	u, _, err := s.userWithHash(ctx, id)
	return u, err
}

func (s *Service) userWithHash(ctx context.Context, id string) (bank.User, string, error) {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return bank.User{}, "", fmt.Errorf("auth: redis: %w", err)
	}
	defer c.Close()
	m, err := redis.StringMap(c.Do("HGETALL", keyUser+id))
	if err != nil {
		return bank.User{}, "", fmt.Errorf("auth: redis: %w", err)
	}
	if len(m) == 0 {
		return bank.User{}, "", ErrUserNotFound
	}
	return userFrom(m), m["pw"], nil
}

// UserByName returns a user by username.
func (s *Service) UserByName(ctx context.Context, username string) (bank.User, error) {
	u, _, err := s.userByName(ctx, username)
	return u, err
}

func (s *Service) userByName(ctx context.Context, username string) (bank.User, string, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return bank.User{}, "", ErrUserNotFound
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return bank.User{}, "", fmt.Errorf("auth: redis: %w", err)
	}
	id, err := redis.String(c.Do("GET", keyUsername+name))
	c.Close()
	if err == redis.ErrNil {
		return bank.User{}, "", ErrUserNotFound
	}
	if err != nil {
		return bank.User{}, "", fmt.Errorf("auth: redis: %w", err)
	}
	return s.userWithHash(ctx, id)
}

// SearchUsers returns up to limit users whose username starts with prefix,
// sorted by username. Tellers use it to find customers.
func (s *Service) SearchUsers(ctx context.Context, prefix string, limit int) ([]bank.User, error) {
	prefix = strings.ToLower(prefix)
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return nil, bank.Errorf(bank.KindInvalid, "invalid_query", "search by a username prefix (a-z, 0-9, '.', '_', '-') or an account number")
		}
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: redis: %w", err)
	}
	// "\xff" sorts after every allowed username byte, closing the range.
	names, err := redis.Strings(c.Do("ZRANGE", keyUsernames, "["+prefix, "["+prefix+"\xff", "BYLEX", "LIMIT", 0, limit))
	c.Close()
	if err != nil {
		return nil, fmt.Errorf("auth: redis: %w", err)
	}
	out := make([]bank.User, 0, len(names))
	for _, n := range names {
		u, err := s.UserByName(ctx, n)
		if err != nil {
			continue // removed between the two reads
		}
		out = append(out, u)
	}
	return out, nil
}

// Register creates a customer, rate-limited per client address.
func (s *Service) Register(ctx context.Context, username, password, addr string) (bank.User, error) {
	if wait, err := s.RegisterPerAddr.Hit(ctx, addr); err != nil {
		return bank.User{}, err
	} else if wait > 0 {
		return bank.User{}, limited(wait, "registrations from this address")
	}
	return s.CreateUser(ctx, username, password, bank.Customer)
}

// Session is the result of a login.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      bank.User `json:"user"`
}

// Login checks a password and issues a token. Attempts are limited per
// client address and per username (every attempt counts; a success clears
// the username's count), so neither one address nor a botnet aimed at one
// account gets unlimited guesses. The limits are checked before the
// password hash so refused attempts cost no CPU.
func (s *Service) Login(ctx context.Context, username, password, addr string) (Session, error) {
	name := strings.ToLower(username)
	if len(name) > 64 { // no real username is longer; keeps hostile input out of key names
		name = name[:64]
	}
	if err := s.countLoginAttempt(ctx, name, addr); err != nil {
		return Session{}, err
	}
	u, err := s.checkPassword(ctx, username, password)
	if err != nil {
		return Session{}, err
	}
	if err := s.LoginPerUser.Reset(ctx, name+"|"+addr); err != nil {
		return Session{}, err
	}
	if err := s.LoginPerUserAll.Reset(ctx, name); err != nil {
		return Session{}, err
	}
	return s.IssueToken(ctx, u)
}

// countLoginAttempt counts the attempt against every login limit and
// refuses it when one is exceeded. The attempt is counted before the
// password is checked, in one atomic step: checking first and counting
// after a failure let any number of concurrent guesses through. Per
// address first, then per username and address: attempts those refuse do
// not count towards the username's total, so one guessing address cannot
// lock the real user out by itself.
func (s *Service) countLoginAttempt(ctx context.Context, name, addr string) error {
	for _, l := range []struct {
		lim  *Limiter
		key  string
		what string
	}{
		{s.LoginPerAddr, addr, "login attempts from this address"},
		{s.LoginPerUser, name + "|" + addr, "login attempts for this user"},
		{s.LoginPerUserAll, name, "login attempts for this user"},
	} {
		if wait, err := l.lim.Hit(ctx, l.key); err != nil {
			return err
		} else if wait > 0 {
			return limited(wait, l.what)
		}
	}
	return nil
}

// checkPassword returns the user whose password this is. An unknown user
// costs the same hash as a known one, so timing does not tell them apart.
func (s *Service) checkPassword(ctx context.Context, username, password string) (bank.User, error) {
	u, hash, err := s.userByName(ctx, username)
	if errors.Is(err, ErrUserNotFound) {
		hash = s.dummyHash
	} else if err != nil {
		return bank.User{}, err
	}
	ok, params, verr := verify(password, hash)
	if err != nil || verr != nil || !ok {
		if verr != nil && err == nil {
			return bank.User{}, verr
		}
		return bank.User{}, ErrInvalidCredentials
	}
	if params != s.Argon2 {
		s.rehash(ctx, u.ID, hash, password)
	}
	return u, nil
}

// rehash moves a user whose hash has older cost parameters (19 MiB, 2
// passes before 12 MiB, 3) to the current ones, now that the login has
// proved the password: their logins then take as long as everyone's,
// and as long as an unknown user's (the dummy hash), so timing tells
// nothing. It costs that one login a second hash. A failure only leaves
// the old hash, which still verifies: the next login tries again.
func (s *Service) rehash(ctx context.Context, userID, hash, password string) {
	fresh, err := HashPassword(password, s.Argon2)
	if err != nil {
		return
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = rehashScript.DoContext(ctx, c, keyUser+userID, hash, fresh)
}

// HashToken is what Redis stores for a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// IssueToken creates a token for u.
func (s *Service) IssueToken(ctx context.Context, u bank.User) (Session, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Session{}, err
	}
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	exp := s.Now().Add(s.TokenTTL).UTC().Truncate(time.Second)
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return Session{}, fmt.Errorf("auth: redis: %w", err)
	}
	defer c.Close()
	k := keyToken + HashToken(tok)
	c.Send("MULTI")
	c.Send("HSET", k, "user", u.ID, "expires", exp.UnixMilli(), "created", s.Now().UnixMilli())
	c.Send("PEXPIREAT", k, exp.UnixMilli())
	if _, err := c.Do("EXEC"); err != nil {
		return Session{}, fmt.Errorf("auth: redis: %w", err)
	}
	return Session{Token: tok, ExpiresAt: exp, User: u}, nil
}

// Authenticate returns the user a token belongs to, or ErrUnauthorized:
// one round trip (authenticate.lua reads the token and its user).
func (s *Service) Authenticate(ctx context.Context, token string) (bank.User, error) {
	if !WellFormed(token) {
		return bank.User{}, ErrUnauthorized
	}
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return bank.User{}, fmt.Errorf("auth: redis: %w", err)
	}
	vals, err := redis.Strings(authenticateScript.DoContext(ctx, c, keyToken+HashToken(token), s.Now().UnixMilli()))
	c.Close()
	if e, ok := luascript.Refusal(err); ok && e.Code == ErrUnauthorized.Code {
		return bank.User{}, ErrUnauthorized
	}
	if err != nil {
		return bank.User{}, fmt.Errorf("auth: redis: %w", err)
	}
	return userOf(vals), nil
}

// userOf is the user of a script's reply {id, username, role, created}
// (authenticate.lua, set_role.lua).
func userOf(vals []string) bank.User {
	return userFrom(map[string]string{"id": vals[0], "username": vals[1], "role": vals[2], "created": vals[3]})
}

// WellFormed reports whether token can be one of ours at all, so that
// anything else is refused before Redis is asked.
func WellFormed(token string) bool {
	return strings.HasPrefix(token, tokenPrefix) && len(token) == len(tokenPrefix)+43
}

// Revoke deletes a token (logout). Revoking an unknown token is not an error.
func (s *Service) Revoke(ctx context.Context, token string) error {
	c, err := s.pool.GetContext(ctx)
	if err != nil {
		return fmt.Errorf("auth: redis: %w", err)
	}
	defer c.Close()
	if _, err := c.Do("DEL", keyToken+HashToken(token)); err != nil {
		return fmt.Errorf("auth: redis: %w", err)
	}
	return nil
}
