package service

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

// MemoryLimit sets the runtime's soft limit, unless it is off (0) or the
// environment's GOMEMLIMIT already decided it.
func TestMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := slog.New(slog.DiscardHandler)
	debug.SetMemoryLimit(math.MaxInt64)
	MemoryLimit(0, log)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("0 set the limit to %d, want none", got)
	}
	MemoryLimit(40, log)
	if got := debug.SetMemoryLimit(-1); got != 40<<20 {
		t.Errorf("40 MiB set the limit to %d, want %d", got, 40<<20)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "100MiB")
	MemoryLimit(40, log)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, the limit became %d, want the environment's to stand", got)
	}
}

// GCPercent raises GOGC only under a memory limit, which then bounds the
// heap, and never over the environment's GOGC.
func TestGCPercent(t *testing.T) {
	prevLimit := debug.SetMemoryLimit(-1)
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(prevLimit); debug.SetGCPercent(prevGC) })
	log := slog.New(slog.DiscardHandler)
	debug.SetMemoryLimit(math.MaxInt64)
	GCPercent(400, log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("without a memory limit GOGC became %d, want 100", got)
	}
	debug.SetMemoryLimit(40 << 20)
	GCPercent(400, log)
	if got := debug.SetGCPercent(100); got != 400 {
		t.Errorf("under a memory limit GOGC is %d, want 400", got)
	}
	t.Setenv("GOGC", "50")
	GCPercent(400, log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GOGC became %d, want the environment's to stand", got)
	}
}
