package postgres

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres/pgtest"
	"github.com/aftercare/aftercare/store/storetest"
)

// clock is a test clock: every reading is one second after the last.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(start time.Time) *clock { return &clock{t: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

var t0 = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)

// testURL returns the test database's URL, or skips the test.
func testURL(t testing.TB) string { return pgtest.Base(t) }

// freshSchema is a URL of a fresh schema of the test database.
func freshSchema(t testing.TB) string { return pgtest.URL(t) }

// openTest opens a DB on a fresh schema, closed when the test ends.
func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	u := freshSchema(t)
	opts = append([]Option{WithNow(newClock(t0).Now), WithMaxConns(4)}, opts...)
	db, err := Open(context.Background(), u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	testURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) aftercare.Store { return openTest(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"", "aftercare.db", "mysql://x", "postgres://a:b@host:notaport/db"} {
			_, err := Open(ctx, u)
			if aftercare.ErrorCode(err) != aftercare.EINVALID {
				t.Errorf("Open(%q): %v, want EINVALID", u, err)
			}
		}
	})
	t.Run("MigratesOnceConcurrently", func(t *testing.T) {
		t.Parallel()
		u := freshSchema(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				db, err := Open(ctx, u, WithMaxConns(2))
				if err == nil {
					err = db.Ready(ctx)
					_ = db.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
			}
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		files, err := os.ReadDir("migrations")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
			t.Errorf("schema_migrations has %d rows (%v), want %d, one per migration", n, err, len(files))
		}
	})
	t.Run("Ready", func(t *testing.T) {
		t.Parallel()
		db := openTest(t)
		if err := db.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		db.schema++
		if err := db.Ready(ctx); err == nil {
			t.Error("Ready with a schema behind the program's: nil, want an error")
		}
	})
}
