// Command aftercare-load drives the full server on loopback and reports
// the load figures of docs/performance.md (issue 13): enrollments/s
// through the JSON API, messages/s dispatched to a Twilio-compatible fake,
// how late the texts went out (p50, p99), the peak resident memory of each
// serve process, and duplicates (the same text to the same phone twice).
//
// It starts the fake (../shared/bench/faketwilio, with its -delay), then
// --replicas serve processes of the aftercare binary on one database
// (--db: a SQLite file, or postgres://... once that engine is merged), creates an
// API token, enrolls --enrollments patients with POST /api/v1/enrollments
// from --clients concurrent clients spread over the replicas, and waits
// until every text due at treatment time has reached the fake. A dev
// tool: it is not part of the aftercare binary.
//
//	go run ./cmd/aftercare-load --enrollments 5000
//	go run ./cmd/aftercare-load --replicas 3 --delay 100ms --db postgres://postgres@127.0.0.1:5432/aftercare_load
//	go run ./cmd/aftercare-load --help
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// perPatient is how many texts the built-in microneedling protocol sends
// at treatment time (the welcome and the first instruction): what is due
// at once per enrollment.
const perPatient = 2

type options struct {
	db            string
	replicas      int
	enrollments   int
	clients       int
	sendConc      int
	delay         time.Duration
	aftercare     string
	fake          string
	bench         string
	timeout       time.Duration
	jsonOut       bool
	keep          bool
	dispatchEvery string
	backlog       bool
}

// Report is what a run measured (--json prints it).
type Report struct {
	DB               string  `json:"db"`
	Replicas         int     `json:"replicas"`
	ProviderDelayMS  int64   `json:"provider_delay_ms"`
	SendConcurrency  int     `json:"send_concurrency"`
	Enrollments      int     `json:"enrollments"`
	EnrollPerSec     float64 `json:"enrollments_per_s"`
	EnrollP99MS      float64 `json:"enroll_p99_ms"`
	EnrollErrors     int     `json:"enroll_errors"`
	Sent             int     `json:"sent"`
	Expected         int     `json:"expected"`
	Duplicates       int     `json:"duplicates"`
	MessagesPerSec   float64 `json:"messages_per_s"`
	LatenessP50MS    float64 `json:"lateness_p50_ms"`
	LatenessP99MS    float64 `json:"lateness_p99_ms"`
	Backlog          bool    `json:"backlog"`
	PeakRSSMB        []int64 `json:"peak_rss_mb"`
	EnrollRSSMB      []int64 `json:"enroll_peak_rss_mb,omitempty"`
	NProc            int     `json:"nproc"`
	LoadAverageAtEnd string  `json:"load_average_at_end"`
}

func main() {
	var o options
	fs := flag.NewFlagSet("aftercare-load", flag.ContinueOnError)
	fs.StringVar(&o.db, "db", "", "database: a SQLite file path, or postgres://... (default: a new SQLite file in a temporary folder); it should hold no other patients")
	fs.IntVar(&o.replicas, "replicas", 1, "serve processes on the database")
	fs.IntVar(&o.enrollments, "enrollments", 2000, "patients enrolled through the API, each with texts due at once")
	fs.IntVar(&o.clients, "clients", 16, "concurrent API clients")
	fs.IntVar(&o.sendConc, "send-concurrency", 32, "AFTERCARE_SEND_CONCURRENCY of each serve")
	fs.DurationVar(&o.delay, "delay", 0, "provider latency: the fake's -delay, e.g. 100ms")
	fs.StringVar(&o.aftercare, "aftercare", "", "aftercare binary (default: go build ./cmd/aftercare)")
	fs.StringVar(&o.fake, "fake", "", "faketwilio binary (default: go build it from --bench)")
	fs.StringVar(&o.bench, "bench", "../shared/bench", "folder of faketwilio's source (../shared/bench/README.md)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up when the texts have not all gone out by then")
	fs.StringVar(&o.dispatchEvery, "dispatch-spec", "@every 1s", "AFTERCARE_DISPATCH_SPEC of each serve")
	fs.BoolVar(&o.backlog, "backlog", false, "enroll with dispatch idle, then restart the serves and time the drain of the backlog (dispatch capacity; lateness counts from the restart)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (logs, fake's log, SQLite file)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: aftercare-load [flags]\n\nDrives aftercare serve on loopback against the Twilio fake and reports\nenrollments/s, messages/s, lateness p50/p99 and peak RSS (docs/performance.md).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "aftercare-load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aftercare-load:", err)
		os.Exit(1)
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	rep.print(os.Stdout)
}

func (o *options) check() error {
	switch {
	case o.replicas < 1:
		return fmt.Errorf("--replicas must be at least 1, got %d", o.replicas)
	case o.enrollments < 1:
		return fmt.Errorf("--enrollments must be at least 1, got %d", o.enrollments)
	case o.clients < 1:
		return fmt.Errorf("--clients must be at least 1, got %d", o.clients)
	case o.sendConc < 1:
		return fmt.Errorf("--send-concurrency must be at least 1, got %d", o.sendConc)
	case o.delay < 0:
		return fmt.Errorf("--delay must not be negative, got %s", o.delay)
	case o.replicas > 1 && !strings.HasPrefix(o.db, "postgres://") && !strings.HasPrefix(o.db, "postgresql://"):
		// Several serves on one SQLite file work (one writer at a time),
		// but the figure issue 13 asks for is PostgreSQL's.
		fmt.Fprintln(os.Stderr, "aftercare-load: note: several replicas on one SQLite file share its single writer")
	}
	return nil
}

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "database %s, %d replica(s), provider delay %dms, %d sends in flight per serve\n", r.DB, r.Replicas, r.ProviderDelayMS, r.SendConcurrency)
	fmt.Fprintf(w, "enrollments: %d through the API at %.0f/s (p99 %.0f ms), %d errors\n", r.Enrollments, r.EnrollPerSec, r.EnrollP99MS, r.EnrollErrors)
	fmt.Fprintf(w, "dispatch:    %d of %d texts sent at %.0f msg/s, %d duplicates\n", r.Sent, r.Expected, r.MessagesPerSec, r.Duplicates)
	since := "the enrollment's 201"
	if r.Backlog {
		since = "the dispatching serves' start (--backlog)"
	}
	fmt.Fprintf(w, "lateness:    p50 %.0f ms, p99 %.0f ms (sent by the fake minus %s)\n", r.LatenessP50MS, r.LatenessP99MS, since)
	fmt.Fprintf(w, "peak RSS:    %v MB per serve", r.PeakRSSMB)
	if r.Backlog {
		fmt.Fprintf(w, " (while enrolling: %v MB)", r.EnrollRSSMB)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "machine:     nproc %d, load average %s at the end\n", r.NProc, r.LoadAverageAtEnd)
}

// build compiles a Go main package into dir, for the binaries not given.
func build(ctx context.Context, dir, out, pkgDir, pkg string) (string, error) {
	path := filepath.Join(dir, out)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, pkg)
	cmd.Dir = pkgDir
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s in %s: %w", pkg, pkgDir, err)
	}
	return path, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// peakRSS is a process's peak resident memory in MB (Linux VmHWM).
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb / 1024
		}
	}
	return -1
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
