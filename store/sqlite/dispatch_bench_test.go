package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/sqlite/sqlitetest"
)

// BenchmarkDueQuery runs the due-message query with 10,000 and with
// 1,000,000 pending messages, of which 256 are due (the rest due in 1 to 90
// days): "query" is the SELECT alone (32 rows, as a tick of 4 workers
// claims), "claim" is ClaimDue of 32 and the Release that puts them back,
// and "callback" is a Twilio status callback for a sent message (the
// lookup by provider id; the report is a duplicate and changes nothing).
// Each must cost the same at both sizes. The million-row file is built once
// (about 30 s) and cached in os.TempDir.
//
//	go test ./store/sqlite -run '^$' -bench DueQuery -benchtime 2000x
func BenchmarkDueQuery(b *testing.B) {
	const due, batch = 256, 32
	for _, pending := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%s", count(pending)), func(b *testing.B) {
			path := sqlitetest.Backlog{Pending: pending, Due: due}.File(b)
			ctx := context.Background()
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			raw.SetMaxOpenConns(1)
			now := sqlitetest.Base.Format("2006-01-02T15:04:05.000Z")
			// The plan on this file, with the statistics Open gathered.
			var plan []string
			rows, err := raw.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlite.SelectDue, now, batch)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id, parent, unused int
				var detail string
				rows.Scan(&id, &parent, &unused, &detail)
				plan = append(plan, detail)
			}
			rows.Close()
			if len(plan) == 0 || !strings.HasPrefix(plan[0], "SEARCH m USING INDEX messages_due") || strings.Contains(strings.Join(plan, ";"), "TEMP B-TREE") {
				b.Fatalf("the due query's plan is not a range of messages_due: %q", plan)
			}

			b.Run("query", func(b *testing.B) {
				for b.Loop() {
					rows, err := raw.QueryContext(ctx, sqlite.SelectDue, now, batch)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						n++
					}
					if err := rows.Close(); err != nil || n != batch {
						b.Fatalf("%d rows, %v", n, err)
					}
				}
			})
			b.Run("callback", func(b *testing.B) {
				const sid = "SM00000000000000000000000000000001"
				rw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
				if err != nil {
					b.Fatal(err)
				}
				defer rw.Close()
				if _, err := rw.ExecContext(ctx, `UPDATE messages SET status = 'sent', provider_id = ? WHERE id = ?`, sid, due+1); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if moved, err := db.ApplyProviderStatus(ctx, sid, aftercare.StatusSent, "", sqlitetest.Base); err != nil || moved {
						b.Fatalf("moved %v, %v", moved, err)
					}
				}
			})
			b.Run("claim", func(b *testing.B) {
				ids := make([]int64, 0, batch)
				for b.Loop() {
					claimed, err := db.ClaimDue(ctx, sqlitetest.Base, "bench/1", batch)
					if err != nil || len(claimed) != batch {
						b.Fatalf("claimed %d: %v", len(claimed), err)
					}
					ids = ids[:0]
					for _, c := range claimed {
						ids = append(ids, c.Message.ID)
					}
					if err := db.Release(ctx, "bench/1", ids); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// count writes 10000 as 10k and 1000000 as 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
