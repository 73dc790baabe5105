package scheduler_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/sqlite"
)

// BenchmarkImport enrolls b.N patients of the built-in microneedling
// protocol from one CSV into a fresh SQLite file, with SMS and email consent
// (the heaviest case: every step on every channel). Run it with
//
//	go test ./scheduler -run '^$' -bench Import -benchtime 100000x
//
// and read enrollments/s.
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	// The store on the same clock, as in production: it decides which
	// messages are due within a day (rows) and which are kept on their
	// enrollment (sqlite.Horizon).
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.WithNow(clock))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := scheduler.NewService(db, clock)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		b.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "")
	var csv bytes.Buffer
	csv.WriteString("name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n")
	zones := []string{"America/Los_Angeles", "America/New_York", "Europe/London", "Australia/Sydney"}
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(&csv, "Patient %d,+1 415 %03d %04d,p%d@example.com,%s,%s,microneedling,2026-11-%02dT%02d:%02d,yes,yes\n",
			i, 200+i/10000%800, i%10000, i, zones[i%len(zones)], []string{"en", "es"}[i%2], 22+i%7, 9+i%9, i%60)
	}
	b.ResetTimer()
	rep, err := svc.Import(ctx, clinic, &csv, "bench.csv", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if rep.Enrolled != b.N || len(rep.Errors) > 0 {
		b.Fatalf("enrolled %d of %d; first errors: %v", rep.Enrolled, b.N, rep.Errors[:min(3, len(rep.Errors))])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrollments/s")
}

// BenchmarkPreview times one preview of the built-in protocol: load,
// expand, render every message.
//
//	go test ./scheduler -run '^$' -bench Preview
func BenchmarkPreview(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := scheduler.NewService(db, time.Now)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		b.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "")
	req := scheduler.PreviewRequest{Protocol: "microneedling", TreatedAt: "2026-03-07T17:30", TZ: "America/New_York", Lang: "es"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := svc.Preview(ctx, clinic, req); err != nil {
			b.Fatal(err)
		}
	}
}
