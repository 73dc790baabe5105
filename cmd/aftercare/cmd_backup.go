package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/sqlite"
)

func (a *app) backupCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy the database to FILE, consistently, while serve runs",
		Long: `Write a consistent copy of the SQLite database (--db or AFTERCARE_DB) to FILE:
every transaction committed before the copy started, none half. serve may go
on running and writing meanwhile. The copy is written under a temporary name
beside FILE and renamed when complete, then opened and checked (SQLite's
integrity_check, the schema version); the size and the row counts are
printed. An existing FILE is refused unless --force. The copy is readable by
its owner only, like the database: it holds patients' data.

For a PostgreSQL database (AFTERCARE_DB=postgres://...) use pg_dump instead.`,
		Example: `  aftercare backup /backups/aftercare-$(date +%F).db
  aftercare backup --json /backups/nightly.db --force`,
		Args: needArgs(1, "one argument, the backup file to write"),
		RunE: func(c *cobra.Command, args []string) error {
			src, err := a.sqlitePath("backup", "pg_dump --format=custom --file=aftercare.dump \"$AFTERCARE_DB\"")
			if err != nil {
				return err
			}
			info, err := sqlite.Backup(c.Context(), src, args[0], force)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(info)
			}
			a.printf("backed up %s to %s: %s, schema version %d, checked\n", src, info.Path, info.HumanSize(), info.Schema)
			return a.printCounts(info.Counts)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return c
}

func (a *app) restoreCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the database with the backup FILE (stop every serve first)",
		Long: `Replace the SQLite database (--db or AFTERCARE_DB) with a copy of FILE, a file
` + "`aftercare backup`" + ` wrote. FILE is checked first: it must be an intact Aftercare
database whose schema is not newer than this aftercare's (an older one is
brought up to date when serve next opens it).

Stop every serve on the database first: restore refuses while one holds a
live claim lease on it. --force skips that check, for a serve that died
(its lease lapses after AFTERCARE_CLAIM_LEASE anyway).

The database being replaced is kept beside it as
DB.before-restore-<UTC time>; the restored copy takes the database's name by
an atomic rename.

For a PostgreSQL database (AFTERCARE_DB=postgres://...) use pg_restore instead.`,
		Example: `  aftercare restore /backups/aftercare-2026-03-01.db
  aftercare restore --db /data/aftercare.db /backups/nightly.db --json`,
		Args: needArgs(1, "one argument, the backup file to restore"),
		RunE: func(c *cobra.Command, args []string) error {
			dst, err := a.sqlitePath("restore", "pg_restore --clean --if-exists --dbname \"$AFTERCARE_DB\" aftercare.dump")
			if err != nil {
				return err
			}
			res, err := sqlite.Restore(c.Context(), args[0], dst, a.now(), force)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(res)
			}
			a.printf("restored %s from %s: %s, schema version %d\n", dst, args[0], res.HumanSize(), res.Schema)
			if res.Kept != "" {
				a.printf("the database it replaced is kept as %s\n", res.Kept)
			}
			return a.printCounts(res.Counts)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "restore even though a serve holds a live claim lease on the database")
	return c
}

// sqlitePath is the database file backup and restore work on: --db, else
// AFTERCARE_DB. A PostgreSQL URL gets an EINVALID naming the tool to use.
func (a *app) sqlitePath(cmd, pgTool string) (string, error) {
	cfg, err := loadConfig(a.env)
	if err != nil {
		return "", envError(err)
	}
	path := a.dbPath(cfg)
	if strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://") {
		tool, _, _ := strings.Cut(pgTool, " ")
		return "", aftercare.Errorf(aftercare.EINVALID, "`aftercare %s` copies SQLite files; for PostgreSQL use %s: %s (see docs/operations.md)", cmd, tool, pgTool)
	}
	return path, nil
}

// printCounts prints the row counts of a checked file, one table a line.
func (a *app) printCounts(counts map[string]int64) error {
	w := a.table()
	for _, t := range []string{"clinics", "patients", "enrollments", "messages", "attempts", "users"} {
		if n, ok := counts[t]; ok {
			fmt.Fprintf(w, "  %s\t%d\n", t, n)
		}
	}
	return w.Flush()
}
