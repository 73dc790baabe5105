package scheduler_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/postgres"
	"github.com/aftercare/aftercare/store/postgres/pgtest"
	"github.com/aftercare/aftercare/store/sqlite"
)

// BenchmarkImport enrolls b.N patients of the built-in microneedling
// protocol from one CSV into a fresh SQLite file, with SMS and email consent
// (every step on every channel, ~30 messages each). Run it with
//
//	go test ./scheduler -run '^$' -bench 'Import/treated=this-week' -benchtime 100000x
//
// and read enrollments/s. The store writes as rows the messages due within
// a day (store/internal/plan's Horizon) and keeps the rest on their
// enrollments, so the figure depends on the treatment dates:
//
//   - treated=this-week: treatments spread over the seven days from the
//     import's (about 1 message in 30 is a row);
//   - treated=today: every treatment earlier on the day of the import (a
//     clinic enrolling the day's patients; about 1 in 5 is a row);
//   - treated=last-month: treatments five weeks before the import, every
//     message skipped (its time has passed) and so a row: the slowest case,
//     the store's row-writing speed.
func BenchmarkImport(b *testing.B) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	b.Run("treated=this-week", func(b *testing.B) {
		benchmarkImport(b, now, func(i int) string {
			return fmt.Sprintf("2026-11-%02dT%02d:%02d", 22+i%7, 9+i%9, i%60)
		})
	})
	b.Run("treated=today", func(b *testing.B) {
		// 08:00-11:59 UTC: the night before in Los Angeles, the morning in
		// London, the evening in Sydney; all before the import.
		benchmarkImport(b, now, func(i int) string {
			return time.Date(2026, 11, 22, 8+i%4, i%60, 0, 0, time.UTC).Format(time.RFC3339)
		})
	})
	b.Run("treated=last-month", func(b *testing.B) {
		benchmarkImport(b, now, func(i int) string {
			return fmt.Sprintf("2026-10-%02dT%02d:%02d", 12+i%7, 9+i%9, i%60)
		})
	})
}

func benchmarkImport(b *testing.B, now time.Time, treated func(i int) string) {
	clock := func() time.Time { return now }
	// The store on the same clock, as in production: it decides which
	// messages are due within a day (rows) and which are kept on their
	// enrollment (store/internal/plan's Horizon).
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.WithNow(clock))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	importCSV(b, db, now, treated)
	reportRows(b, db, now)
}

// reportRows reports how many messages per enrollment are rows (the
// clinic-wide log lists rows only; the rest are kept on their enrollments).
func reportRows(b *testing.B, db aftercare.Store, now time.Time) {
	clinic, _ := db.FindClinic(context.Background(), "")
	msgs, err := db.ListMessages(context.Background(), aftercare.MessageFilter{ClinicID: clinic.ID, Since: now.AddDate(-1, 0, 0), Until: now.AddDate(1, 0, 0)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(msgs))/float64(b.N), "rows/enrollment")
}

// BenchmarkImportPostgres is BenchmarkImport on PostgreSQL (a fresh schema
// of the database AFTERCARE_TEST_POSTGRES_URL names; skipped without it).
// Since its migration 0003 store/postgres keeps far-ahead messages on their
// enrollment as store/sqlite does, so it writes as many rows:
//
//	AFTERCARE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/aftercare_test?sslmode=disable \
//	  go test ./scheduler -run '^$' -bench 'ImportPostgres/treated=this-week' -benchtime 20000x
//
// Before, with every message a row (~30 per enrollment), it ran at
// 0.35-0.41 of BenchmarkImport's rate; docs/performance.md has the figures
// since.
func BenchmarkImportPostgres(b *testing.B) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		treated func(i int) string
	}{
		{"treated=this-week", func(i int) string { return fmt.Sprintf("2026-11-%02dT%02d:%02d", 22+i%7, 9+i%9, i%60) }},
		{"treated=today", func(i int) string {
			return time.Date(2026, 11, 22, 8+i%4, i%60, 0, 0, time.UTC).Format(time.RFC3339)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url := pgtest.URL(b)
			db, err := postgres.Open(context.Background(), url, postgres.WithNow(func() time.Time { return now }))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			importCSV(b, db, now, tc.treated)
			reportRows(b, db, now)
		})
	}
}

// importCSV imports b.N patients into db, timed, and reports enrollments/s.
func importCSV(b *testing.B, db aftercare.Store, now time.Time, treated func(i int) string) {
	ctx := context.Background()
	clock := func() time.Time { return now }
	svc := scheduler.NewService(db, clock)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		b.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "")
	var csv bytes.Buffer
	csv.WriteString("name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n")
	zones := []string{"America/Los_Angeles", "America/New_York", "Europe/London", "Australia/Sydney"}
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(&csv, "Patient %d,+1 415 %03d %04d,p%d@example.com,%s,%s,microneedling,%s,yes,yes\n",
			i, 200+i/10000%800, i%10000, i, zones[i%len(zones)], []string{"en", "es"}[i%2], treated(i))
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
