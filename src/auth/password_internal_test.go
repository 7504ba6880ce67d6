package auth

import (
	"sync"
	"sync/atomic"
	"testing"
)

// No more password hashes run at once than hashSlots allow, however many
// logins arrive together: each holds 19 MiB while it runs.
func TestPasswordHashesAreBounded(t *testing.T) {
	var most atomic.Int32
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				if n := int32(len(hashSlots)); n > most.Load() {
					most.Store(n)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 * cap(hashSlots) {
		wg.Go(func() {
			if _, err := HashPassword("a long enough password", Argon2Params{MemoryKiB: 4 * 1024, Time: 1, Threads: 1}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(done)
	// A hash that bypassed the slots would leave them empty.
	if m := most.Load(); m == 0 {
		t.Errorf("%d hashes ran and none took a slot", 4*cap(hashSlots))
	}
}
