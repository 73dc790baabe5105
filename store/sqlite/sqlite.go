// Package sqlite is Aftercare's embedded default store: one SQLite file in
// WAL mode, implementing aftercare.Store.
//
// A DB holds two connection pools on the same file. Every write goes through
// the writer pool, which has a single connection whose transactions start
// with BEGIN IMMEDIATE: goroutines of one process queue for that connection
// instead of racing for SQLite's write lock, so they never see SQLITE_BUSY,
// and another process waits up to the busy timeout. Reads go through a reader
// pool of several query-only connections, which WAL lets run beside the
// writer.
//
// The schema lives in numbered migrations (migrations/NNNN_name.sql); Open
// applies the ones a file has not had yet, each in its own transaction.
//
// Times are stored as UTC text to the millisecond, so times read back are
// UTC and truncated to the millisecond.
//
// # Files
//
// One file per contract of the root package, named after its noun:
// clinics.go (aftercare.ClinicStore), protocols.go, patients.go,
// enrollments*.go, messages.go, dispatch*.go, accounts*.go, consent.go,
// secrets.go, audit.go, retention.go, inbox.go; store/storetest checks each
// in the file of the same name. backup.go copies and restores whole files
// (`aftercare backup` and `restore`), beside a running serve. plan.go keeps far-ahead messages on their
// enrollment (what store/postgres shares of it, and the planned column's
// codec, are in store/internal/plan). A hand-written fast path stands in a
// file of its own, headed by why and the benchmark that justifies it:
// timefast.go (time text). query.go, bulk.go and text.go
// are helpers the files share.
//
// # Why not more of sqlx
//
// sqlx is used for its transactions (Tx, Get into a single value) and In,
// which expands IN (?) for a slice; not for named queries, Select or struct
// scans. The domain types carry no db tags and should not: they belong to
// the root package, which knows no SQL. Their times are stored as text
// and read through dbTime, and their consents, windows and claims are
// nested structs spread over columns, so a struct scan would need a row
// type per table and a copy into the domain type; and the hot queries
// (ClaimDue, the import) would pay sqlx's reflection per row. Instead each
// noun has one list of scan destinations (patientDest, messageDest, ...)
// that every query reading it appends to, and queryAll, eachRow and
// eachRowIn (query.go) hold the rows loop of the list methods and the
// import; the loops left inline (dispatch, plan, retention) fold their rows
// into maps, counts or updates within a transaction as they go. Queries use positional ? parameters, as named
// constants next to the method that runs them.
package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"

	"github.com/aftercare/aftercare"
)

var _ aftercare.Store = (*DB)(nil)

// DB is an open Aftercare database file. It is safe for concurrent use.
type DB struct {
	// Now is the clock for created, updated and migration times. It defaults
	// to time.Now; tests set it (or pass WithNow) to control time. Set it
	// before the DB is shared between goroutines.
	Now func() time.Time

	path   string
	schema int      // the newest migration this program has (Ready)
	writer *sqlx.DB // one connection, BEGIN IMMEDIATE
	reader *sqlx.DB // query-only connections
}

// Option configures Open.
type Option func(*options)

type options struct {
	now        func() time.Time
	readers    int
	busy       time.Duration
	migrations fs.FS
}

// WithNow sets the clock (DB.Now), which also stamps the migrations that Open
// applies.
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithReaders sets the number of connections in the reader pool (default:
// the number of CPUs, at least 4).
func WithReaders(n int) Option {
	return func(o *options) { o.readers = n }
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process before it fails with SQLITE_BUSY (default 10 s). Within one
// process writers queue for the single writer connection and never wait on
// the lock.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busy = d }
}

// withMigrations replaces the embedded migrations (tests only).
func withMigrations(fsys fs.FS) Option {
	return func(o *options) { o.migrations = fsys }
}

// Open opens (creating if need be) the database file at path, brings its
// schema up to date and returns it. It returns EINVALID for an empty or
// in-memory path (the two pools must share a file), and an internal error
// when the file cannot be opened or a migration fails; a failed migration
// leaves the file as it was before that migration.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	o := options{
		now:        time.Now,
		readers:    max(4, runtime.NumCPU()),
		busy:       10 * time.Second,
		migrations: embedded,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, aftercare.Errorf(aftercare.EINVALID, "the database must be a file path, e.g. aftercare.db (got %q)", path)
	}
	if o.readers < 1 {
		return nil, aftercare.Errorf(aftercare.EINVALID, "the reader pool needs at least one connection, got %d", o.readers)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db := &DB{Now: o.now, path: abs}
	if err := createPrivate(abs); err != nil {
		return nil, err
	}

	busy := strconv.FormatInt(o.busy.Milliseconds(), 10)
	db.writer, err = sqlx.Open("sqlite3", dsn(abs, url.Values{
		"_txlock":          {"immediate"},
		"_journal_mode":    {"WAL"},
		"_foreign_keys":    {"1"},
		"_busy_timeout":    {busy},
		"_synchronous":     {"NORMAL"},
		"_cache_size":      {"-65536"}, // KiB: bulk imports touch many index pages
		"_stmt_cache_size": {"32"},
		// No mutex around each call into the connection: database/sql
		// never uses a connection from two goroutines at once (the writer
		// spends ~5% less time on a bulk import).
		"_mutex": {"no"},
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	// One writer connection: in-process writers queue here, never at SQLite's lock.
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	if err := db.writer.PingContext(ctx); err != nil {
		_ = db.writer.Close() // the open failed: its error is the one to return
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if err := db.migrate(ctx, o.migrations); err != nil {
		_ = db.writer.Close() // the open failed: its error is the one to return
		return nil, err
	}
	// Refresh the planner's statistics where tables have grown, in bounded
	// time (SQLite's advice for long-lived connections).
	if _, err := db.writer.ExecContext(ctx, `PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002`); err != nil {
		_ = db.writer.Close() // the open failed: its error is the one to return
		return nil, fmt.Errorf("sqlite: optimize %s: %w", abs, err)
	}
	// Checkpoint the WAL into the file once it holds 40 MiB rather than
	// SQLite's 4 MiB: a batch of an import writes more than 4 MiB, so at the
	// default every commit would also copy and sync everything it wrote,
	// and index pages that the next batches change again would be copied
	// each time (measured: the import's writer 12-15% faster). The setting
	// belongs to the connection, which the writer pool keeps open.
	if _, err := db.writer.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 10000`); err != nil {
		_ = db.writer.Close() // the open failed: its error is the one to return
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}

	db.reader, err = sqlx.Open("sqlite3", dsn(abs, url.Values{
		"_query_only":      {"1"},
		"_foreign_keys":    {"1"},
		"_busy_timeout":    {busy},
		"_synchronous":     {"NORMAL"},
		"_stmt_cache_size": {"32"},
	}))
	if err != nil {
		_ = db.writer.Close() // the open failed: its error is the one to return
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db.reader.SetMaxOpenConns(o.readers)
	db.reader.SetMaxIdleConns(o.readers)
	if err := db.reader.PingContext(ctx); err != nil {
		_ = db.Close() // the open failed: its error is the one to return
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	return db, nil
}

// createPrivate creates the database file, when there is none, readable
// and writable by its owner only (0600, like the outbox): it holds patients'
// names, numbers and messages. SQLite creates the -wal and -shm files with
// the mode of the database file. An existing file keeps its mode: the
// operator chose it (docs/security.md says what to set).
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}

// dsn is a go-sqlite3 URI for path: "file:" with the characters SQLite's URI
// parser gives a meaning to escaped.
func dsn(path string, params url.Values) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return "file:" + esc + "?" + params.Encode()
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Close closes both pools; the last connection to close checkpoints the WAL
// into the database file. It returns the first error met.
func (db *DB) Close() error {
	var errs []error
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		// Best effort: lets SQLite refresh the planner's statistics.
		_, _ = db.writer.Exec("PRAGMA optimize")
		errs = append(errs, db.writer.Close())
	}
	return errors.Join(errs...)
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

// write runs fn in a writer transaction (BEGIN IMMEDIATE) and commits it if
// fn returns nil. Errors are translated (see dbError); op names the work.
func (db *DB) write(ctx context.Context, op string, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.writer.BeginTxx(ctx, nil)
	if err != nil {
		return dbError(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return dbError(op, err)
	}
	if err := tx.Commit(); err != nil {
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

// dbError turns err into what the store returns: *aftercare.Error and
// context errors unchanged, constraint violations as ECONFLICT (UNIQUE),
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
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return conflict("%s", uniqueMessage(se.Error()))
		case sqlite3.ErrConstraintForeignKey:
			return notFound("a clinic, protocol, patient, enrollment or user it refers to does not exist in this clinic")
		case sqlite3.ErrConstraintCheck, sqlite3.ErrConstraintNotNull:
			return invalid("a value is not allowed here (%s)", se.Error())
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// uniqueMessage explains a UNIQUE violation ("UNIQUE constraint failed:
// clinics.slug") to the person who caused it.
func uniqueMessage(msg string) string {
	_, cols, _ := strings.Cut(msg, "failed: ")
	switch {
	case cols == "clinics.slug":
		return "a clinic with that slug already exists: choose another slug"
	case cols == "clinics.sms_from":
		return "that text sender is already used by another clinic: each clinic needs its own (or none, for the server's)"
	case cols == "clinics.email_from":
		return "that email sender is already used by another clinic: each clinic needs its own (or none, for the server's)"
	case cols == "clinics.is_default":
		return "another clinic is already the default"
	case strings.HasPrefix(cols, "protocols."):
		return "that protocol version was saved at the same time by someone else: try again"
	case strings.HasPrefix(cols, "patients."):
		return "that patient already exists in this clinic"
	case strings.HasPrefix(cols, "enrollments."):
		return "another enrollment of this clinic has the same key (same patient, protocol and treatment time)"
	case cols == "messages.id":
		return "a message id was given twice (" + msg + ")"
	case strings.HasPrefix(cols, "messages."):
		return "the plan has the same message (step, occurrence and channel) twice"
	case cols == "users.email":
		return "a user with that email already exists (an email signs in to one clinic only): use another email"
	case cols == "tokens.hash", cols == "sessions.hash", cols == "signin_links.hash":
		return "that secret is in use already: make a new one"
	}
	return "it clashes with a stored row (" + msg + ")"
}
