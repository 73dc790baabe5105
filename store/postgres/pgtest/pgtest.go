// Package pgtest gives tests and benchmarks a PostgreSQL database of their
// own: a fresh schema in the database AFTERCARE_TEST_POSTGRES_URL names,
// dropped when the test ends. Without the variable the test skips, so that
// `go test ./...` passes on a machine without PostgreSQL. (It does not
// import store/postgres, whose own tests use it.)
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// URLVar names the environment variable that holds the test database's URL.
const URLVar = "AFTERCARE_TEST_POSTGRES_URL"

// admin is one pool on the test database that creates and drops schemas.
var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// Base returns the test database's URL, or skips the test when there is
// none.
func Base(t testing.TB) string {
	t.Helper()
	u := os.Getenv(URLVar)
	if u == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a database they may use, e.g. postgres://postgres@127.0.0.1:5432/aftercare_test?sslmode=disable", URLVar)
	}
	return u
}

// URL creates an empty schema in the test database, dropped (with
// everything in it) when the test ends, and returns a URL whose
// connections use it. It skips the test when AFTERCARE_TEST_POSTGRES_URL
// is unset.
func URL(t testing.TB) string {
	t.Helper()
	base := Base(t)
	ctx := context.Background()
	admin.once.Do(func() { admin.pool, admin.err = pgxpool.New(ctx, base) })
	if admin.err != nil {
		t.Fatalf("%s: %v", URLVar, admin.err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("%s: %v", URLVar, err)
	}
	t.Cleanup(func() {
		if _, err := admin.pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", URLVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
