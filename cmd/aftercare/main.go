// Command aftercare is the one binary of the Aftercare service: the front
// desk's command line (protocols, preview, enroll, import, cancel,
// reschedule, clinic) and, with `serve`, the service a clinic runs.
//
// main only wires the process to run, which the end-to-end tests call too.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aftercare/aftercare"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, time.Now)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aftercare:", aftercare.ErrorMessage(err))
		if aftercare.ErrorCode(err) == aftercare.EINTERNAL {
			fmt.Fprintln(os.Stderr, "  detail:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Streams are the process's standard streams, replaceable in tests.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// exitCode: 1 for a problem in what the user gave (fix and re-run) and for
// a failed healthcheck (a container's HEALTHCHECK reads 1 as unhealthy), 2
// for usage errors, 3 for everything else.
func exitCode(err error) int {
	switch aftercare.ErrorCode(err) {
	case aftercare.EINVALID, aftercare.EUNPROCESSABLE, aftercare.ENOTFOUND, aftercare.ECONFLICT:
		return 1
	case usageCode:
		return 2
	case unhealthyCode:
		return 1
	}
	return 3
}
