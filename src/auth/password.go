package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/kubebank/kubebank/src/bank"
)

// Argon2Params are the cost parameters of argon2id. They are stored in
// every hash (PHC string format), so raising them later only affects new
// hashes and old ones still verify.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 follows the OWASP password storage recommendation for
// argon2id (19 MiB, 2 passes, 1 lane): memory-hard, yet cheap enough that
// a 2-core API pod can absorb a burst of logins.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Password length bounds in bytes. The upper bound keeps one request
	// from buying an arbitrarily expensive hash.
	MinPassword = 8
	MaxPassword = 128
)

// ValidatePassword checks a new password's shape.
func ValidatePassword(pw string) error {
	if !utf8.ValidString(pw) {
		return bank.Errorf(bank.KindInvalid, "invalid_password", "password must be valid UTF-8")
	}
	if len(pw) < MinPassword || len(pw) > MaxPassword {
		return bank.Errorf(bank.KindInvalid, "invalid_password", "password must be between %d and %d bytes long", MinPassword, MaxPassword)
	}
	return nil
}

// hashSlots bounds the argon2 computations running at once to the cores
// Go may use: each takes MemoryKiB (19 MiB by default) for its duration,
// so a burst of logins or registrations would otherwise grow the pod's
// memory with the burst (32 at once: 600 MiB), and more of them than
// cores finish no sooner. The others wait for a slot.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// idKey is argon2.IDKey in one of hashSlots.
func idKey(pw, salt []byte, p Argon2Params, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, n)
}

// HashPassword returns an argon2id hash in PHC string format.
func HashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(pw), salt, p, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches hash, in constant time with
// respect to the key comparison.
func VerifyPassword(pw, hash string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("auth: unsupported password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("auth: unsupported argon2 version %q", parts[2])
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("auth: bad argon2 parameters: %v", err)
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("auth: bad salt: %v", err)
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("auth: bad key: %v", err)
	}
	got := idKey([]byte(pw), salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
