package main

import (
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct{ cache, cgroup, want int64 }{
		{256 << 20, 0, 1 << 30},                   // the default tier: 1 GiB
		{256 << 20, 512 << 20, 512 << 20 / 5 * 4}, // a 512 MiB container: 80 % of it
		{4 << 30, 64 << 30, 12<<30 + 256<<20},
	} {
		if got := memoryLimit(c.cache, c.cgroup); got != c.want {
			t.Errorf("memoryLimit(%d, %d) = %d, want %d", c.cache, c.cgroup, got, c.want)
		}
	}
}

// GOGC or GOMEMLIMIT in the environment leave the collector alone.
func TestTuneGCHonoursTheEnvironment(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	tuneGC(256<<20, slog.Default())
	if p := debug.SetGCPercent(150); p != 150 {
		t.Errorf("with GOGC=150 set, GOGC became %d", p)
	}
	t.Setenv("GOGC", "")
	tuneGC(256<<20, slog.Default())
	if p := debug.SetGCPercent(100); p != gcPercent {
		t.Errorf("GOGC %d, want %d", p, gcPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != memoryLimit(256<<20, cgroupMemory()) {
		t.Errorf("memory limit %d", l)
	}
}
