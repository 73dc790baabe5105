package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres/pgtest"
)

// pgDB returns a postgres:// URL of a fresh schema in the database
// AFTERCARE_TEST_POSTGRES_URL names, dropped when the test ends, with the
// usual test environment; it skips the test when the variable is unset.
func pgDB(t *testing.T) string {
	t.Helper()
	return withClinicEnv(t, pgtest.URL(t))
}

// TestOpenStorePostgres: a postgres:// --db opens PostgreSQL, where the
// first run creates the clinic and the built-in protocols as on SQLite.
func TestOpenStorePostgres(t *testing.T) {
	t.Parallel()
	db := pgDB(t)
	out := mustCLI(t, db, "clinic", "list")
	if !strings.Contains(out, "Glow Skin Studio") {
		t.Errorf("clinic list on PostgreSQL:\n%s\nwant the clinic the first run made", out)
	}
	if out := mustCLI(t, db, "protocols"); !strings.Contains(out, "microneedling") {
		t.Errorf("protocols on PostgreSQL:\n%s\nwant the built-in ones", out)
	}
	st, err := openStore(context.Background(), db, func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if p := st.Path(); !strings.HasPrefix(p, "postgres://") || strings.Contains(p, "search_path") {
		t.Errorf("Path() = %q, want postgres://user@host:port/name", p)
	}
}

// TestOpenStoreErrNoPassword: a database that cannot be reached is named in
// the error without its password.
func TestOpenStoreErrNoPassword(t *testing.T) {
	t.Parallel()
	const db = "postgres://aftercare:s3cret-pw@127.0.0.1:1/aftercare?connect_timeout=5"
	_, _, err := cli(t, db, "", "clinic", "list")
	if err == nil {
		t.Fatal("clinic list on a closed port: nil error")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret-pw") || !strings.Contains(msg, "127.0.0.1") {
		t.Errorf("error %q: want the database named without its password", msg)
	}
	if _, _, err := cli(t, "postgres://a:s3cret-pw@host:notaport/x", "", "clinic", "list"); aftercare.ErrorCode(err) != aftercare.EINVALID ||
		strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("a URL that does not parse: %v, want EINVALID without the password", err)
	}
}
