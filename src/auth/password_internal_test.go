package auth

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// No more password hashes run at once than hashSlots allow, however many
// logins and registrations arrive together: each holds 12 MiB while it
// runs. The hash is replaced by one that counts how many overlap.
func TestPasswordHashesAreBounded(t *testing.T) {
	real := argonKey
	t.Cleanup(func() { argonKey = real })
	var running, most atomic.Int32
	argonKey = func(pw, salt []byte, tm, mem uint32, threads uint8, n uint32) []byte {
		now := running.Add(1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return real(pw, salt, 1, 8, 1, n)
	}
	hash, err := HashPassword("a long enough password", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 6 * cap(hashSlots) {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = HashPassword("a long enough password", DefaultArgon2)
			} else {
				_, err = VerifyPassword("a long enough password", hash)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m < 1 || m > int32(cap(hashSlots)) {
		t.Errorf("%d hashes and verifications overlapped at most, want 1 to %d", m, cap(hashSlots))
	}
}
