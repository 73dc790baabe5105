package main

import (
	"runtime/debug"
	"strconv"

	"github.com/aftercare/aftercare"
)

// serveGCPercent is serve's garbage collector target when GOGC is not set:
// the heap may grow to five times what is live (GOGC=400) before a
// collection, instead of Go's default of twice (GOGC=100).
//
// Why: serve's live heap is small (tens of MiB) and every send allocates
// (twilio-go's request and its JSON answer, the database driver's rows, a
// log line), so at Go's default the collector ran every few hundred sends
// and took a quarter of serve's CPU while dispatching a backlog. At 400,
// serve used 242 us of CPU per send instead of 281-314 and peaked at
// about 55 MiB resident instead of 43 (docs/performance.md, session 7,
// scripts/bench-river.sh). An operator who wants less memory or more sets
// GOGC (and GOMEMLIMIT) as for any Go program; serve then leaves both to
// the runtime.
const serveGCPercent = 400

// tuneGC sets serve's collector target unless env sets GOGC, and returns
// the target in effect (-1: GOGC=off), for serve's first log line. A GOGC
// that is neither a number nor "off" is refused: Go would quietly take it
// for 100.
func tuneGC(env Env) (int, error) {
	if v, ok := env("GOGC"); ok {
		if _, err := strconv.Atoi(v); err != nil && v != "off" {
			return 0, aftercare.FieldErrorf("GOGC", "%q is not a garbage collector target: give a percentage such as 100 (Go's default) or 400 (serve's), or off; or unset it", v)
		}
		// The runtime read it at start-up; report what it made of it.
		cur := debug.SetGCPercent(serveGCPercent)
		debug.SetGCPercent(cur)
		return cur, nil
	}
	debug.SetGCPercent(serveGCPercent)
	return serveGCPercent, nil
}
