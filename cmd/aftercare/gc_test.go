package main

import (
	"errors"
	"io/fs"
	"os"
	"runtime/debug"
	"testing"

	"github.com/aftercare/aftercare"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	if got, err := tuneGC(MapEnv(nil)); err != nil || got != serveGCPercent {
		t.Errorf("without GOGC: tuneGC = %d, %v; want %d", got, err, serveGCPercent)
	}
	if now := debug.SetGCPercent(100); now != serveGCPercent {
		t.Errorf("without GOGC the collector's target is %d, want %d", now, serveGCPercent)
	}

	// With GOGC set, the runtime's reading of it stays (here 150, as if
	// the runtime had read GOGC=150 at start-up).
	debug.SetGCPercent(150)
	if got, err := tuneGC(MapEnv(map[string]string{"GOGC": "150"})); err != nil || got != 150 {
		t.Errorf("with GOGC=150: tuneGC = %d, %v; want 150", got, err)
	}
	if now := debug.SetGCPercent(100); now != 150 {
		t.Errorf("with GOGC set the collector's target became %d; serve must leave it", now)
	}
	debug.SetGCPercent(-1)
	if got, err := tuneGC(MapEnv(map[string]string{"GOGC": "off"})); err != nil || got != -1 {
		t.Errorf("with GOGC=off: tuneGC = %d, %v; want -1", got, err)
	}
	// A GOGC Go would quietly read as 100 is refused, naming it.
	debug.SetGCPercent(100)
	_, err := tuneGC(MapEnv(map[string]string{"GOGC": "lots"}))
	wantErr(t, "GOGC=lots", err, aftercare.EINVALID, "GOGC", "lots", "percentage")
}

// TestServeBadGOGC: serve refuses a GOGC Go would quietly read as 100,
// before it makes a database.
func TestServeBadGOGC(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	setEnv(db, map[string]string{"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "GOGC": "40O"})
	_, _, err := cli(t, db, "", "serve")
	wantErr(t, "serve with GOGC=40O", err, aftercare.EINVALID, "GOGC", "40O", "400")
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused, yet serve left a database at %s (%v)", db, err)
	}
}
