package service

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// MemoryLimit sets Go's soft memory limit to mib MiB (runtime/debug's
// SetMemoryLimit), so that the collector runs before garbage (the
// API's password hashes: 12 MiB each) grows the heap to twice what is
// live; 0 leaves the runtime's default, no limit. A GOMEMLIMIT in the
// environment is the operator's and wins. It is a soft limit: a process
// that needs more live memory gets it, at the price of more collection.
func MemoryLimit(mib int64, log *slog.Logger) {
	if mib <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(mib << 20)
	log.Debug("memory limit", "mib", mib)
}
