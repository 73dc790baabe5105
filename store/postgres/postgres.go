// Package postgres is Aftercare's store for several replicas on one
// PostgreSQL database, implementing aftercare.Store. store/sqlite is the
// embedded default; this engine passes the same suite (store/storetest).
//
// A DB is a pgx connection pool (github.com/jackc/pgx/v5, used directly:
// its COPY protocol carries the bulk import, and its pool and error types
// need no database/sql layer in between). cmd/aftercare opens it when
// AFTERCARE_DB is a postgres:// or postgresql:// URL.
//
// The schema lives in numbered migrations (migrations/NNNN_name.sql), a
// clean translation of SQLite's (0001_init.sql says what differs and why).
// Open applies the ones the database has not had, each in its own
// transaction holding an advisory lock, so that replicas starting at once
// apply each migration once.
//
// Times are stored as timestamptz in UTC, truncated to the millisecond as
// SQLite's text is, so both engines give back the same times. Every
// connection's TimeZone is UTC.
//
// # Files
//
// One file per contract of the root package, named after its noun, as in
// store/sqlite: clinics.go (aftercare.ClinicStore), protocols.go,
// patients.go, enrollments*.go (the import's COPY in enrollments_copy.go),
// messages.go, dispatch*.go, accounts*.go, consent.go, secrets.go,
// audit.go, retention.go, inbox.go. migrate.go runs the migrations,
// ready.go answers GET /readyz, copy.go copies another database's tables
// in (`aftercare copy-db`); plan.go keeps far-ahead messages on their
// enrollment (migration 0003), as store/sqlite does, with what the two
// share in store/internal/plan; rows.go (the column lists several files
// read), query.go, text.go and time.go are helpers the files share. pgtest
// gives tests a schema of their own.
//
// The suite (store/storetest) proves both engines answer alike. Queries use
// PostgreSQL's numbered parameters ($1), as named constants next to the
// method that runs them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aftercare/aftercare"
)

var _ aftercare.Store = (*DB)(nil)

// DB is an open Aftercare database on PostgreSQL. It is safe for
// concurrent use.
type DB struct {
	// Now is the clock for created, updated and migration times. It defaults
	// to time.Now; tests set it (or pass WithNow) to control time. Set it
	// before the DB is shared between goroutines.
	Now func() time.Time

	pool   *pgxpool.Pool
	where  string // the database, without its password (Path)
	schema int    // the newest migration this program has (Ready)
}

// Option configures Open.
type Option func(*options)

type options struct {
	now        func() time.Time
	maxConns   int32
	migrations fs.FS
}

// WithNow sets the clock (DB.Now), which also stamps the migrations that
// Open applies.
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithMaxConns sets the size of the connection pool (default: pgxpool's,
// the larger of 4 and the number of CPUs; a URL's pool_max_conns too).
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = int32(min(n, 1<<20)) }
}

// withMigrations replaces the embedded migrations (tests only).
func withMigrations(fsys fs.FS) Option {
	return func(o *options) { o.migrations = fsys }
}

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://) rather than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url (postgres://user@host:5432/name?...,
// libpq's parameters and pgxpool's pool_* ones allowed), brings its schema
// up to date and returns it. It returns EINVALID for a url that is not a
// postgres:// one or does not parse, and an internal error when the
// database cannot be reached or a migration fails; a failed migration
// leaves the database as it was before that migration. The URL, which may
// hold a password, is never part of an error.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	o := options{now: time.Now, migrations: embedded}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if !IsURL(url) {
		return nil, aftercare.Errorf(aftercare.EINVALID, "a PostgreSQL database is a URL starting with postgres:// or postgresql://, e.g. postgres://aftercare@db.example:5432/aftercare")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors quote the URL, password included.
		return nil, aftercare.Errorf(aftercare.EINVALID, "the PostgreSQL URL does not parse: check its host, port and parameters (postgres://user:password@host:5432/database?sslmode=disable)")
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	// Dates computed in SQL (a day's statistics) are UTC days, as stored.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", where(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", where(cfg), err)
	}
	db := &DB{Now: o.now, pool: pool, where: "postgres://" + where(cfg)}
	if err := db.migrate(ctx, o.migrations); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// where names a database in errors without its password.
func where(cfg *pgxpool.Config) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// Path names the database for logs and errors: postgres://user@host:port/name,
// without the password or the URL's parameters.
func (db *DB) Path() string { return db.where }

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// now returns the current time as stored: UTC, to the millisecond.
func (db *DB) now() time.Time {
	return db.Now().UTC().Truncate(time.Millisecond)
}

// stamp returns at as stored, or the current time when at is zero.
func (db *DB) stamp(at time.Time) time.Time {
	if at.IsZero() {
		return db.now()
	}
	return norm(at)
}

// write runs fn in a transaction (read committed) and commits it if fn
// returns nil. Errors are translated (see dbError); op names the work.
func (db *DB) write(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return dbError(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op; before, the error to return is fn's
	if err := fn(tx); err != nil {
		return dbError(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(op, err)
	}
	return nil
}

// Errors.

func notFound(format string, args ...any) error {
	return aftercare.Errorf(aftercare.ENOTFOUND, format, args...)
}

func conflict(format string, args ...any) error {
	return aftercare.Errorf(aftercare.ECONFLICT, format, args...)
}

func invalid(format string, args ...any) error {
	return aftercare.Errorf(aftercare.EINVALID, format, args...)
}

// PostgreSQL's SQLSTATE codes that dbError translates.
const (
	codeUnique     = "23505"
	codeForeignKey = "23503"
	codeCheck      = "23514"
	codeNotNull    = "23502"
	codeDeadlock   = "40P01"
)

// dbError turns err into what the store returns: *aftercare.Error and
// context errors unchanged, constraint violations as ECONFLICT (unique),
// ENOTFOUND (a foreign key: the row referred to does not exist) or EINVALID
// (CHECK, NOT NULL), and anything else wrapped as an internal error naming op.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *aftercare.Error
	if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUnique:
			return conflict("%s", uniqueMessage(pe.ConstraintName))
		case codeForeignKey:
			return notFound("a clinic, protocol, patient, enrollment or user it refers to does not exist in this clinic")
		case codeCheck, codeNotNull:
			return invalid("a value is not allowed here (%s)", pe.Message)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// uniqueMessage explains a unique violation of the named constraint or
// index (0001_init.sql names them) to the person who caused it.
func uniqueMessage(constraint string) string {
	switch {
	case constraint == "clinics_slug":
		return "a clinic with that slug already exists: choose another slug"
	case constraint == "clinics_sms_from":
		return "that text sender is already used by another clinic: each clinic needs its own (or none, for the server's)"
	case constraint == "clinics_email_from":
		return "that email sender is already used by another clinic: each clinic needs its own (or none, for the server's)"
	case constraint == "clinics_default":
		return "another clinic is already the default"
	case strings.HasPrefix(constraint, "protocols_"):
		return "that protocol version was saved at the same time by someone else: try again"
	case strings.HasPrefix(constraint, "patients_"):
		return "that patient already exists in this clinic"
	case strings.HasPrefix(constraint, "enrollments_"):
		return "another enrollment of this clinic has the same key (same patient, protocol and treatment time)"
	case constraint == "messages_pkey":
		return "a message id was given twice"
	case strings.HasPrefix(constraint, "messages_"):
		return "the plan has the same message (step, occurrence and channel) twice"
	case constraint == "users_email":
		return "a user with that email already exists (an email signs in to one clinic only): use another email"
	case constraint == "tokens_hash", constraint == "sessions_pkey", constraint == "signin_links_pkey":
		return "that secret is in use already: make a new one"
	}
	return "it clashes with a stored row (" + constraint + ")"
}
