package scheduler_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/sqlite"
)

// benchDispatch enrolls n patients whose first text is due now, then
// times ticks until all n are sent through twilio-go to the loopback fake
// with the given latency, every attempt committed.
func benchDispatch(b *testing.B, n, concurrency int, latency time.Duration) {
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
	d := &scheduler.Dispatcher{Store: db, Owner: "bench/1", Concurrency: concurrency, Batch: 64 * concurrency,
		Now: func() time.Time { return now.Add(time.Second) }, Routes: map[aftercare.Channel]scheduler.Route{aftercare.SMS: {Name: "twilio", Sender: tw}}}
	b.ResetTimer()
	start := time.Now()
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
}

// go test ./scheduler -run '^$' -bench 'Dispatch/' -benchtime 1x
func BenchmarkDispatch(b *testing.B) {
	b.Run("zero-latency/c=4", func(b *testing.B) { benchDispatch(b, 5000, 4, 0) })
	for _, c := range []int{1, 4, 16, 32} {
		b.Run(fmt.Sprintf("100ms/c=%d", c), func(b *testing.B) { benchDispatch(b, 200, c, 100*time.Millisecond) })
	}
}
