package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
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
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("sqlite: migration %s: the name must start with a positive number and an underscore (0001_init.sql)", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlite: migrations %s and %s have the same number", other, name)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

const (
	createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at TEXT NOT NULL
)`
	newestMigration  = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`
	migrationApplied = `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`
	recordMigration  = `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
)

// migrate applies the migrations of fsys that the file has not had, each in
// its own transaction together with its schema_migrations row, so that a
// failing migration leaves nothing behind. A file migrated by a newer binary
// (it has versions this one does not know) is refused.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := readMigrations(fsys)
	if err != nil {
		return err
	}
	if _, err := db.writer.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	var newest int
	if err := db.writer.GetContext(ctx, &newest, newestMigration); err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if len(ms) > 0 && newest > ms[len(ms)-1].version {
		return fmt.Errorf("sqlite: %s has schema version %d but this program knows only up to %d: use a newer aftercare", db.path, newest, ms[len(ms)-1].version)
	}
	for _, m := range ms {
		if err := db.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	if len(ms) > 0 {
		db.schema = ms[len(ms)-1].version
	}
	return nil
}

// applyMigration runs m unless it was applied already. The check is inside
// the (immediate) transaction, so two processes opening the same new file
// apply each migration once.
func (db *DB) applyMigration(ctx context.Context, m migration) error {
	fail := func(err error) error { return fmt.Errorf("sqlite: migration %s: %w", m.name, err) }
	tx, err := db.writer.BeginTxx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, migrationApplied, m.version); err != nil {
		return fail(err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, recordMigration, m.version, formatTime(db.now())); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}
