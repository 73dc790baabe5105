package dispatch_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/sqlite/sqlitetest"
	"github.com/aftercare/aftercare/store/storetest"
)

// benchDispatch enrolls n patients whose first text is due now, then
// times ticks until all n are sent through twilio-go to the loopback fake
// with the given latency, every attempt committed. rate is the SMS route's
// limit in messages per second (AFTERCARE_SMS_RATE; 0 for none). The
// dispatcher reads the wall clock, as in production, so that the rate
// limiter's reservations are real.
func benchDispatch(b *testing.B, n, concurrency, batch int, latency time.Duration, rate float64) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Minute)
	svc := scheduler.NewService(db, func() time.Time { return now })
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow", Phone: "+14155550199", TZ: "UTC"}); err != nil {
		b.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "")
	// A zone where it is midday now, so the first step is inside the send window.
	zone := fmt.Sprintf("Etc/GMT%+d", -(12 - now.Hour()))
	if 12-now.Hour() == 0 {
		zone = "UTC"
	}
	if h := 12 - now.Hour(); h > 12 || h < -12 {
		zone = "UTC"
	}
	var csv bytes.Buffer
	csv.WriteString("name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&csv, "P %d,+1 415 %03d %04d,,%s,en,microneedling,%s,yes,no\n", i, 200+i/10000, i%10000, zone, now.Format(time.RFC3339))
	}
	if rep, err := svc.Import(ctx, clinic, &csv, "bench.csv", nil); err != nil || rep.Enrolled != n {
		b.Fatalf("import: %+v %v", rep, err)
	}
	fake := twiliotest.NewServer(b, twiliotest.WithLatency(latency), twiliotest.WithoutRecording())
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+15005550006", BaseURL: fake.URL})
	if err != nil {
		b.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: db, Owner: "bench/1", Concurrency: concurrency, Batch: batch,
		Now: time.Now, Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw, Rate: rate}}}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	sent := 0
	for sent < n {
		k, err := d.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			b.Fatalf("stalled after %d of %d", sent, n)
		}
		sent += k
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msgs/s")
	// The process's CPU time per message (dispatcher, SQLite and the
	// loopback fake together): steadier than msgs/s on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(sent), "cpu-µs/msg")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// go test ./scheduler/dispatch -run '^$' -bench 'Dispatch/' -benchtime 1x
//
// The rate cases send 10 s worth of messages at the limit with 32 workers:
// throughput is the limit, below what 32 workers reach without one
// (100ms/c=32).
func BenchmarkDispatch(b *testing.B) {
	b.Run("zero-latency/c=4", func(b *testing.B) { benchDispatch(b, 5000, 4, 64*4, 0, 0) })
	// River's side-by-side setting (scripts/bench-river.sh) with serve's
	// batch (0: 8 x 32), without the separate processes: where a send's
	// time goes under -cpuprofile.
	b.Run("zero-latency/c=32", func(b *testing.B) { benchDispatch(b, 5000, 32, 0, 0, 0) })
	for _, c := range []int{1, 4, 16, 32} {
		b.Run(fmt.Sprintf("100ms/c=%d", c), func(b *testing.B) { benchDispatch(b, 200, c, 64*c, 100*time.Millisecond, 0) })
	}
	for _, rate := range []int{10, 100} {
		b.Run(fmt.Sprintf("rate=%d-100ms/c=32", rate), func(b *testing.B) { benchDispatch(b, 10*rate, 32, 64*32, 100*time.Millisecond, float64(rate)) })
	}
}

// BenchmarkDispatchMemory times one dispatch tick (claim the 256 due texts,
// in batches of 32 while batches come back full, send them to a
// zero-latency loopback Twilio, record every outcome) with 10,000 and with
// 1,000,000 pending messages; between ticks (timer stopped) the sent ones
// are made due again. Per tick it reports the
// Go allocations; over the run, the Go heap in use after a GC and how much
// the process's resident memory (Go heap and SQLite's page cache) grew. None
// of them may grow with the number pending. The million-message file is
// built once (about 30 s) and cached in os.TempDir.
//
//	go test ./scheduler/dispatch -run '^$' -bench DispatchMemory -benchtime 300x
func BenchmarkDispatchMemory(b *testing.B) {
	const due = 256
	for _, pending := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%s", map[int]string{10_000: "10k", 1_000_000: "1M"}[pending]), func(b *testing.B) {
			ctx := context.Background()
			path := sqlitetest.Backlog{Pending: pending, Due: due}.File(b)
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			// A second connection re-arms the sent messages between ticks.
			raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			rearm := func() {
				if _, err := raw.ExecContext(ctx, `UPDATE messages SET status = 'pending', attempts = 0, claimed_by = '', claimed_at = NULL,
					sent_at = NULL, provider_id = '', provider_status = '' WHERE id <= ? AND status <> 'pending'`, due); err != nil {
					b.Fatal(err)
				}
			}
			fake := twiliotest.NewServer(b, twiliotest.WithoutRecording())
			tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+15005550006", BaseURL: fake.URL})
			if err != nil {
				b.Fatal(err)
			}
			d := &dispatch.Dispatcher{Store: db, Owner: "bench/1", Concurrency: 4,
				Now: func() time.Time { return sqlitetest.Base }, Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}}}
			tick := func() {
				if n, err := d.Tick(ctx); err != nil || n != due {
					b.Fatalf("tick sent %d (want %d): %v", n, due, err)
				}
			}
			tick() // warm up: connections, statements, the page cache
			rearm()
			heapBefore, rssBefore := heapInUse(), rss(b)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tick()
				b.StopTimer()
				rearm()
				b.StartTimer()
			}
			b.StopTimer()
			heap := heapInUse()
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(heap-heapBefore)/(1<<10), "heap-growth-KiB")
			b.ReportMetric(float64(rss(b)-rssBefore)/(1<<20), "rss-growth-MiB")
		})
	}
}

// heapInUse is the Go heap in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// rss is the process's resident memory (Linux), which counts SQLite's page
// cache (C memory) as well as Go's heap.
func rss(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm: resident memory is measured on Linux only")
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(raw), &size, &resident); err != nil {
		b.Fatal(err)
	}
	return resident * int64(os.Getpagesize())
}

// BenchmarkDispatchLateness runs the real dispatch job (robfig/cron,
// "@every 1s", the default AFTERCARE_DISPATCH_SPEC) on the wall clock for 30
// seconds against a zero-latency loopback Twilio, with texts due at random
// milliseconds across the run at a steady load, and reports lateness (SentAt
// minus SendAt) at the 50th and 99th percentile and the worst. It fails if a
// message was sent before its SendAt. Load 20/s is within what one tick
// claims per second (Batch, 8 x Concurrency = 32); at 50/s the backlog
// grows until the load stops, and the run waits for it to drain.
//
//	go test ./scheduler/dispatch -run '^$' -bench DispatchLateness -benchtime 1x
func BenchmarkDispatchLateness(b *testing.B) {
	for _, load := range []int{20, 50} {
		b.Run(fmt.Sprintf("load=%d", load), func(b *testing.B) { benchLateness(b, load, 30*time.Second) })
	}
}

func benchLateness(b *testing.B, load int, run time.Duration) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	clinic := storetest.Clinic("bench")
	if err := db.CreateClinic(ctx, clinic); err != nil {
		b.Fatal(err)
	}
	p := storetest.Protocol(clinic.ID, "bench")
	if err := db.SaveProtocol(ctx, p); err != nil {
		b.Fatal(err)
	}
	// The load starts 2 s from now, after the setup.
	r := rand.New(rand.NewPCG(1, uint64(load)))
	start := time.Now().Add(2 * time.Second).Truncate(time.Millisecond)
	n := load * int(run/time.Second)
	var batch []*aftercare.NewEnrollment
	for i := range n {
		ne := storetest.Enrollment(clinic.ID, p.ID, i, start.Add(-time.Hour), 1)
		m := ne.Messages[0]
		m.SendAt = start.Add(time.Duration(r.Int64N(run.Milliseconds())) * time.Millisecond)
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
		batch = append(batch, ne)
	}
	if _, err := db.EnrollBatch(ctx, batch); err != nil {
		b.Fatal(err)
	}
	fake := twiliotest.NewServer(b, twiliotest.WithoutRecording())
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+15005550006", BaseURL: fake.URL})
	if err != nil {
		b.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: db, Owner: "bench/1", Concurrency: 4, Now: time.Now,
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}}}
	jobs, err := scheduler.NewJobs(nil, scheduler.Job{Name: "dispatch", Spec: "@every 1s",
		Run: func(ctx context.Context) error { _, err := d.Tick(ctx); return err }})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	jobs.Start()
	time.Sleep(time.Until(start.Add(run + 2*time.Second)))
	for deadline := start.Add(3 * run); fake.Count() < n && time.Now().Before(deadline); {
		time.Sleep(time.Second) // an overload drains
	}
	jobs.Stop(ctx)
	b.StopTimer()

	msgs, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID})
	if err != nil {
		b.Fatal(err)
	}
	var late []time.Duration
	for _, m := range msgs {
		if m.SentAt.IsZero() {
			continue
		}
		if m.SentAt.Before(m.SendAt) {
			b.Fatalf("message %d sent at %s, before its time %s", m.ID, m.SentAt.Format(time.StampMilli), m.SendAt.Format(time.StampMilli))
		}
		late = append(late, m.SentAt.Sub(m.SendAt))
	}
	if len(late) != n {
		b.Fatalf("%d of %d sent", len(late), n)
	}
	slices.Sort(late)
	ms := func(q float64) float64 {
		return float64(late[int(math.Ceil(q*float64(n)))-1]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
}
