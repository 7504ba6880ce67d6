package service

import (
	"log/slog"
	"math"
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

// GCPercent sets how far the heap may grow over what is live before the
// collector runs (GOGC) to percent, but only under a soft memory limit
// (MemoryLimit's or GOMEMLIMIT), which then bounds the heap instead: the
// API lives on a few MB, and collecting after every few MB of garbage
// (GOGC 100) cost it a tenth of its CPU under load. A GOGC in the
// environment is the operator's and wins; percent 0 changes nothing.
func GCPercent(percent int, log *slog.Logger) {
	if percent <= 0 || os.Getenv("GOGC") != "" {
		return
	}
	if limit := debug.SetMemoryLimit(-1); limit == math.MaxInt64 {
		return
	}
	debug.SetGCPercent(percent)
	log.Debug("gc percent", "percent", percent)
}
