package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres"
	"github.com/aftercare/aftercare/store/sqlite"
)

// createsDB is the annotation of the commands that may make a new SQLite
// database where --db or AFTERCARE_DB names no file (mayCreateDB).
const createsDB = "aftercare:creates-db"

// mayCreateDB marks c as a command that may make a new SQLite database:
// serve (the README's run command on a fresh machine), restore, the
// commands that add to a clinic (enroll, import, protocols import, clinic
// add and set, user add, token create), and `protocols`, the README
// walkthrough's first command on a new database. Every other command only
// reads, or changes what must already be there (cancel 1), and refuses a
// path with no file: opening it would make an empty database, and the
// command would answer as if the clinic had nothing ("no messages"), which
// a practice manager who mistyped the path would believe.
func mayCreateDB(c *cobra.Command) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[createsDB] = "yes"
	return c
}

// dbPath is the database the command line names: --db, else AFTERCARE_DB
// (cfg.DB, whose default is ./aftercare.db).
func (a *app) dbPath(cfg Config) string {
	if a.dbFlag != "" {
		return a.dbFlag
	}
	return cfg.DB
}

// noDatabase is the error of a command that may not make a database, run
// where path, a SQLite path, names no file. It says which setting named
// the path, what to check, and how a new database is made; nothing was
// opened, so no file is left behind.
func (a *app) noDatabase(path string) error {
	where := path
	if abs, err := filepath.Abs(path); err == nil && abs != path {
		where = fmt.Sprintf("%s (%s)", path, abs)
	}
	if a.dbFlag != "" {
		return aftercare.Errorf(aftercare.ENOTFOUND, "there is no database at %s: check the path given with --db; "+
			"or, to start a new database there, run `aftercare serve` with the same --db", where)
	}
	if _, ok := a.env("AFTERCARE_DB"); ok {
		return aftercare.Errorf(aftercare.ENOTFOUND, "there is no database at %s, which AFTERCARE_DB names: check AFTERCARE_DB (or give --db PATH); "+
			"or, to start a new database there, run `aftercare serve`", where)
	}
	return aftercare.Errorf(aftercare.ENOTFOUND, "there is no database at %s, the default when neither --db nor AFTERCARE_DB is set: "+
		"name the database with --db PATH or AFTERCARE_DB (or run this in the directory that holds aftercare.db); "+
		"or, to start a new database here, run `aftercare serve`", where)
}

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
		st, err := postgres.Open(ctx, withConnectTimeout(db), postgres.WithNow(now))
		if err != nil {
			return nil, postgresOpenError(db, "--db or AFTERCARE_DB", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, db, sqlite.WithNow(now))
	if err != nil {
		if dir := filepath.Dir(db); !isDir(dir) {
			return nil, aftercare.Errorf(aftercare.EINVALID, "cannot create the database %s: there is no directory %s; create it, or give another path (--db or AFTERCARE_DB)", db, dir)
		}
		return nil, fmt.Errorf("opening database %s: %w", db, err)
	}
	return st, nil
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// postgresOpenError says what to check when PostgreSQL cannot be reached
// or refuses the connection (a host that does not resolve, nothing
// listening, a database that does not exist, a refused password). These
// are the user's to fix, so EINVALID; the message names the database
// without its password, and flag, where the user gave the URL. Anything
// else stays internal, with the redacted URL in the detail.
func postgresOpenError(db, flag string, err error) error {
	if aftercare.ErrorCode(err) != aftercare.EINTERNAL {
		return err
	}
	where := redactURL(db)
	var dns *net.DNSError
	var op *net.OpError
	// pgconn's *PgError, through its method: the server's SQLSTATE.
	var pgErr interface{ SQLState() string }
	switch {
	case errors.As(err, &dns):
		return aftercare.Errorf(aftercare.EINVALID, "cannot reach the PostgreSQL database %s: there is no host named %q; check the host in %s", where, dns.Name, flag)
	case errors.Is(err, syscall.ECONNREFUSED) && errors.As(err, &op) && op.Addr != nil:
		return aftercare.Errorf(aftercare.EINVALID, "cannot reach the PostgreSQL database %s: nothing answers at %s; is PostgreSQL running there, and is the port right?", where, op.Addr)
	case errors.As(err, &pgErr):
		switch pgErr.SQLState() {
		case "3D000": // invalid_catalog_name
			return aftercare.Errorf(aftercare.EINVALID, "the PostgreSQL database %s does not exist: create it (createdb, or CREATE DATABASE), or fix its name in %s", where, flag)
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return aftercare.Errorf(aftercare.EINVALID, "PostgreSQL refused the user or password of %s: check them in %s (and, on the server, that pg_hba.conf lets this host in)", where, flag)
		}
	}
	return fmt.Errorf("opening database %s: %w", where, err)
}

// redactURL is a database URL fit for an error message: its password
// replaced, in the user part and in a password= parameter (which libpq
// and pgx read too), or a placeholder when it does not parse.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a PostgreSQL URL that does not parse)"
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q[k] = []string{"xxxxx"}
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// urlPassword is the password a postgres:// URL holds, in its user part or
// a password= parameter, for the log's list of secrets; "" when none.
func urlPassword(db string) string {
	if !postgres.IsURL(db) {
		return ""
	}
	u, err := url.Parse(db)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok {
		return p
	}
	for k, v := range u.Query() {
		if strings.EqualFold(k, "password") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// connectTimeout bounds each connection attempt to PostgreSQL unless the
// URL sets connect_timeout itself: pgx's default is none, so a host that
// drops packets held a command (or serve's start) for the system's TCP
// timeout, minutes, before it said anything.
const connectTimeout = "10"

// withConnectTimeout is db with connect_timeout=10 added when it has none
// (db unchanged if it does not parse: Open says so).
func withConnectTimeout(db string) string {
	u, err := url.Parse(db)
	if err != nil {
		return db
	}
	q := u.Query()
	if q.Has("connect_timeout") {
		return db
	}
	q.Set("connect_timeout", connectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}
