package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/sqlite/sqlitetest"
)

// BenchmarkCountDay counts one day of the daily summary (CountDay: the
// day's messages by state, reasons, opt-outs, replies) in a clinic with
// 10,000 and with 1,000,000 messages spread over 90 days. It reads the
// day's rows through messages_log_status, so it costs the day's share
// (1/90) of the messages, not the table: 0.16 ms for 110 messages a day,
// 0.9 ms for 11,000 (it was 105 ms reading every message of the clinic).
//
//	go test ./store/sqlite -run '^$' -bench CountDay
func BenchmarkCountDay(b *testing.B) {
	for _, pending := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("messages=%s", count(pending)), func(b *testing.B) {
			path := sqlitetest.Backlog{Pending: pending, Due: 0}.File(b)
			ctx := context.Background()
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			c, err := db.FindClinic(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			since := sqlitetest.Base.Add(30 * 24 * time.Hour)
			d, err := db.CountDay(ctx, c.ID, since, since.Add(24*time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, k := range d.Messages {
				n += k
			}
			if n == 0 {
				b.Fatal("no messages in the day counted")
			}
			b.ResetTimer()
			for range b.N {
				if _, err := db.CountDay(ctx, c.ID, since, since.Add(24*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "messages/day")
		})
	}
}
