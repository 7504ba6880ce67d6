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

// DefaultArgon2 is one of the OWASP Password Storage Cheat Sheet's
// equivalent argon2id settings (12 MiB, 3 passes, 1 lane: the same
// defence as its 19 MiB with 2 passes, trading memory for a pass), so
// that a hash holds 7 MiB less of the API pod's memory for about the
// same CPU time; memory-hard, yet cheap enough that a 2-core pod can
// absorb a burst of logins. Hashes made with the earlier 19 MiB, 2
// passes still verify: every hash names its own parameters.
var DefaultArgon2 = Argon2Params{MemoryKiB: 12 * 1024, Time: 3, Threads: 1}

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

// hashSlots bounds the argon2 computations running at once to half the
// cores Go may use (at least one): each takes MemoryKiB (12 MiB by
// default) for its duration, so a burst of logins or registrations would
// otherwise grow the pod's memory with the burst (32 at once: 384 MiB);
// and the other half of the cores keeps serving money while logins wait
// for a slot.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

// argonKey is argon2.IDKey; a test counts the calls that overlap.
var argonKey = argon2.IDKey

// idKey is argonKey in one of hashSlots.
func idKey(pw, salt []byte, p Argon2Params, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argonKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, n)
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
	ok, _, err := verify(pw, hash)
	return ok, err
}

// verify is VerifyPassword that also returns the hash's cost parameters
// (a login moves an older hash to the current ones: Service.rehash).
func verify(pw, hash string) (bool, Argon2Params, error) {
	var p Argon2Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, p, fmt.Errorf("auth: unsupported password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, p, fmt.Errorf("auth: unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, p, fmt.Errorf("auth: bad argon2 parameters: %v", err)
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, p, fmt.Errorf("auth: bad salt: %v", err)
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, p, fmt.Errorf("auth: bad key: %v", err)
	}
	got := idKey([]byte(pw), salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, p, nil
}
