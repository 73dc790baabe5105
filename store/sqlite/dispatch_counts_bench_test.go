package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/sqlite/sqlitetest"
)

// BenchmarkCountMessages times what one /metrics scrape reads at most
// once per cache period (metrics.DefaultCacheFor): every message counted
// by clinic, state and channel, with the due ones. It reads the whole
// table, so its cost grows with it; the million-row file is built once
// and cached in os.TempDir.
//
//	go test ./store/sqlite -run '^$' -bench CountMessages -benchtime 20x
func BenchmarkCountMessages(b *testing.B) {
	for _, pending := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("messages=%s", count(pending)), func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, sqlitetest.Backlog{Pending: pending, Due: 256}.File(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for b.Loop() {
				counts, err := db.CountMessages(ctx, sqlitetest.Base)
				if err != nil || len(counts) != 1 || counts[0].Count != pending || counts[0].Due != 256 {
					b.Fatalf("counts %+v, %v; want %d pending, 256 due", counts, err, pending)
				}
			}
		})
	}
}
