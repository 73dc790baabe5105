package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres"
	"github.com/aftercare/aftercare/store/sqlite"
)

// dbStore is what the commands need of a store: either engine.
type dbStore interface {
	aftercare.Store
	// Ready reports whether the database takes writes (GET /readyz).
	Ready(ctx context.Context) error
	// Path names the database in logs and errors, without a password.
	Path() string
}

var (
	_ dbStore = (*sqlite.DB)(nil)
	_ dbStore = (*postgres.DB)(nil)
)

// openStore opens the database that --db or AFTERCARE_DB names: PostgreSQL
// for a postgres:// or postgresql:// URL, otherwise a SQLite file, with now
// as its clock. Errors name the database without its password.
func openStore(ctx context.Context, db string, now func() time.Time) (dbStore, error) {
	if postgres.IsURL(db) {
		st, err := postgres.Open(ctx, db, postgres.WithNow(now))
		if err != nil {
			return nil, fmt.Errorf("opening database %s: %w", redactURL(db), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, db, sqlite.WithNow(now))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", db, err)
	}
	return st, nil
}

// redactURL is a database URL fit for an error message: its password
// replaced (or the scheme alone, when it does not parse).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a PostgreSQL URL that does not parse)"
	}
	return u.Redacted()
}
