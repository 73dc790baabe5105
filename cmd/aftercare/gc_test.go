package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	if got := tuneGC(MapEnv(nil)); got != serveGCPercent {
		t.Errorf("without GOGC: tuneGC = %d, want %d", got, serveGCPercent)
	}
	if now := debug.SetGCPercent(100); now != serveGCPercent {
		t.Errorf("without GOGC the collector's target is %d, want %d", now, serveGCPercent)
	}

	// With GOGC set, the runtime's reading of it stays (here 150, as if
	// the runtime had read GOGC=150 at start-up).
	debug.SetGCPercent(150)
	if got := tuneGC(MapEnv(map[string]string{"GOGC": "150"})); got != 150 {
		t.Errorf("with GOGC=150: tuneGC = %d, want 150", got)
	}
	if now := debug.SetGCPercent(100); now != 150 {
		t.Errorf("with GOGC set the collector's target became %d; serve must leave it", now)
	}
	debug.SetGCPercent(-1)
	if got := tuneGC(MapEnv(map[string]string{"GOGC": "off"})); got != -1 {
		t.Errorf("with GOGC=off: tuneGC = %d, want -1", got)
	}
}
