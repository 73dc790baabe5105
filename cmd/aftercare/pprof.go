//go:build pprof

// Profiling for the dispatch benchmarks (scripts/bench-river.sh PROFILE=1,
// docs/performance.md): built only with -tags pprof, never into the
// released binary. It serves net/http/pprof on AFTERCARE_PPROF_ADDR and
// samples mutex and blocking events.
package main

import (
	"net/http"
	_ "net/http/pprof" //nolint:gosec // a dev build's loopback profiler
	"os"
	"runtime"
)

func init() {
	addr := os.Getenv("AFTERCARE_PPROF_ADDR") //nolint:forbidigo // build-tagged dev hook, read before run()
	if addr == "" {
		return
	}
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100_000)
	go func() { _ = http.ListenAndServe(addr, nil) }() //nolint:gosec // loopback, dev build only
}
