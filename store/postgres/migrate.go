package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// embedded is the migrations directory itself, so that names are "0001_init.sql".
var embedded = func() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above; this cannot happen
	}
	return sub
}()

// migration is one numbered .sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// readMigrations returns the NNNN_name.sql files of fsys in version order.
func readMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("postgres: migration %s: the name must start with a positive number and an underscore (0001_init.sql)", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("postgres: migrations %s and %s have the same number", other, name)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

const (
	// lockMigrations serialises migrators of one schema (replicas starting
	// at once) until their transaction ends; other schemas of the same
	// database (the tests' one per case) do not wait for each other.
	lockMigrations        = `SELECT pg_advisory_xact_lock(hashtext('aftercare migrate ' || current_schema()))`
	createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL
)`
	newestMigration = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`
	recordMigration = `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`
)

// migrate applies the migrations of fsys that the database has not had,
// each in its own transaction together with its schema_migrations row, so
// that a failing migration leaves nothing behind. A database migrated by a
// newer binary (it has versions this one does not know) is refused.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := readMigrations(fsys)
	if err != nil {
		return err
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	// With no migration left to apply, the loop below still checks the
	// version once: the empty migration 0 applies nothing.
	for _, m := range append([]migration{{}}, ms...) {
		if err := db.applyMigration(ctx, m, known); err != nil {
			return err
		}
	}
	db.schema = known
	return nil
}

// applyMigration runs m unless it was applied already (version 0: none).
// The lock and the check are inside the transaction, so that several
// processes migrating one new database apply each migration once, and the
// migrations table is created under the lock (a concurrent CREATE TABLE IF
// NOT EXISTS can fail).
func (db *DB) applyMigration(ctx context.Context, m migration, known int) error {
	fail := func(err error) error {
		if m.version == 0 {
			return fmt.Errorf("postgres: migrations: %w", err)
		}
		return fmt.Errorf("postgres: migration %s: %w", m.name, err)
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockMigrations); err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
			return fail(err)
		}
		var newest int
		if err := tx.QueryRow(ctx, newestMigration).Scan(&newest); err != nil {
			return fail(err)
		}
		if newest > known {
			return fmt.Errorf("postgres: the database has schema version %d but this program knows only up to %d: use a newer aftercare", newest, known)
		}
		if m.version == 0 || newest >= m.version {
			return nil
		}
		// Simple protocol: a migration is several statements.
		if _, err := tx.Exec(ctx, m.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, recordMigration, m.version, db.now()); err != nil {
			return fail(err)
		}
		return nil
	})
}
