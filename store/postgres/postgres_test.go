package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// testURLVar names the database the tests use; each test gets a schema of
// its own in it, dropped when the test ends.
const testURLVar = "AFTERCARE_TEST_POSTGRES_URL"

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

// admin is one pool on the test database that creates and drops the
// tests' schemas.
var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// testURL returns the test database's URL, or skips the test when there
// is none.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(testURLVar)
	if u == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a database they may use, e.g. postgres://postgres@127.0.0.1:5432/aftercare_test?sslmode=disable", testURLVar)
	}
	return u
}

// freshSchema creates an empty schema in the test database, dropped (with
// everything in it) when the test ends, and returns a URL whose
// connections use it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := testURL(t)
	ctx := context.Background()
	admin.once.Do(func() { admin.pool, admin.err = pgxpool.New(ctx, base) })
	if admin.err != nil {
		t.Fatalf("%s: %v", testURLVar, admin.err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("%s: %v", testURLVar, err)
	}
	t.Cleanup(func() {
		if _, err := admin.pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", testURLVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
			t.Errorf("schema_migrations has %d rows (%v), want 1", n, err)
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
