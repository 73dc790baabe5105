package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The database file and its -wal and -shm companions are created readable
// by their owner only: they hold patients' names, numbers and messages.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ready(ctx); err != nil { // a write: the -wal and -shm files exist now
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(name), mode)
		}
	}
}

// Ready commits a write and checks the schema: it fails when the file was
// migrated by a newer program, and when the store is closed.
func TestReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ready.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("a new database: %v", err)
	}
	if _, err := db.writer.ExecContext(ctx, recordMigration, db.schema+1, "2026-01-01T00:00:00.000Z"); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err == nil || !strings.Contains(err.Error(), "schema version") {
		t.Errorf("a schema newer than the program: %v, want an error naming the schema version", err)
	}
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, db.schema+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Ready(ctx); err == nil {
		t.Error("a closed store is ready")
	}
}
