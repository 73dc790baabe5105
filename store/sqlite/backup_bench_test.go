package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/sqlite/sqlitetest"
)

// BenchmarkBackup measures `aftercare backup` of a file with 100,000 and
// 1,000,000 pending messages: the copy (VACUUM INTO), its sync and rename,
// and the check of the copy (integrity_check and the counts), which reads
// it all again. MB/s is of the database file.
//
//	go test ./store/sqlite -run '^$' -bench Backup -benchtime 3x
func BenchmarkBackup(b *testing.B) {
	for _, pending := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			src := sqlitetest.Backlog{Pending: pending, Due: 256}.File(b)
			dir := b.TempDir()
			ctx := context.Background()
			var size int64
			b.ResetTimer()
			for i := range b.N {
				info, err := sqlite.Backup(ctx, src, filepath.Join(dir, fmt.Sprintf("b%d.db", i)), false)
				if err != nil {
					b.Fatal(err)
				}
				size = info.Size
			}
			b.SetBytes(size)
		})
	}
}
