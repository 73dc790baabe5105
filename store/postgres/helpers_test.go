package postgres

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

// TestTimes: a time goes in (ts) in any zone and comes back (dbTime) in
// UTC, to the millisecond; NULL is the zero time; stamp fills in the clock.
func TestTimes(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	in := time.Date(2026, 3, 2, 20, 30, 1, 123456789, time.FixedZone("UTC+5", 5*3600))
	var got, null time.Time
	err := db.pool.QueryRow(ctx, `SELECT $1::timestamptz, $2::timestamptz`, ts(in), ts(time.Time{})).
		Scan((*dbTime)(&got), (*dbTime)(&null))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 2, 15, 30, 1, 123000000, time.UTC)
	if !got.Equal(want) || got.Location() != time.UTC || !null.IsZero() {
		t.Errorf("read back %v and %v, want %v and the zero time", got, null, want)
	}
	if s := db.stamp(time.Time{}); !s.After(t0) || s.Location() != time.UTC { // the migration read the clock first
		t.Errorf("stamp(zero) = %v, want the clock's next reading", s)
	}
	if s := db.stamp(in); !s.Equal(want) {
		t.Errorf("stamp(%v) = %v, want %v", in, s, want)
	}
}

// TestMigrationFails: a migration that fails leaves nothing of itself and
// Open says which one failed.
func TestMigrationFails(t *testing.T) {
	t.Parallel()
	u := freshSchema(t)
	ctx := context.Background()
	bad := fstest.MapFS{
		"0001_init.sql":   {Data: []byte(`CREATE TABLE a (id integer)`)},
		"0002_broken.sql": {Data: []byte(`CREATE TABLE b (id integer); CREATE TABLE nonsense (`)},
	}
	if _, err := Open(ctx, u, withMigrations(bad)); err == nil {
		t.Fatal("Open with a broken migration: nil error")
	}
	good := fstest.MapFS{"0001_init.sql": bad["0001_init.sql"]}
	db, err := Open(ctx, u, withMigrations(good))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b, n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'b'`).Scan(&b); err != nil || b != 0 {
		t.Errorf("table b of the failed migration: %d (%v), want none", b, err)
	}
	if err := db.pool.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Errorf("schema version %d (%v), want 1", n, err)
	}
	// A database a newer program migrated is refused.
	if _, err := Open(ctx, u, withMigrations(fstest.MapFS{})); err == nil {
		t.Error("Open by an older program: nil error")
	}
}

func TestPageLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit, want int
		code        string
	}{{0, 50, ""}, {7, 7, ""}, {-1, 0, aftercare.EINVALID}} {
		got, err := check.PageLimit(tc.limit, 50)
		if got != tc.want || aftercare.ErrorCode(err) != tc.code {
			t.Errorf("check.PageLimit(%d) = %d, %v", tc.limit, got, err)
		}
	}
}
