package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres"
	"github.com/aftercare/aftercare/store/sqlite"
)

func (a *app) copyDBCmd() *cobra.Command {
	var to string
	var force bool
	cmd := &cobra.Command{
		Use:   "copy-db --to postgres://...",
		Short: "Copy the SQLite database (--db) into an empty PostgreSQL database",
		Long: `copy-db copies every table of the SQLite database (--db or AFTERCARE_DB) into
the PostgreSQL database --to names, in one transaction, keeping every id, and
prints how many rows each table got. The PostgreSQL database must be empty
(create a new one); copy-db refuses one with rows and changes nothing. Messages
planned far ahead stay kept on their enrollments, as PostgreSQL keeps them too.
The SQLite file is not changed.
Stop every serve on the file first: copy-db refuses while one holds a live
claim lease on it (a message it sent after the copy started would be pending
again in PostgreSQL); --force skips that check, for a serve that died.
Then run with AFTERCARE_DB set to the PostgreSQL URL. Errors never show the
URL's password; docs/operations.md walks through the whole move.`,
		Example: `  createdb aftercare
  aftercare copy-db --db /var/lib/aftercare/aftercare.db --to postgres://aftercare@db.internal:5432/aftercare
  aftercare copy-db --to "$PG_URL" --json`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			if to == "" {
				return &aftercare.Error{Code: usageCode, Message: "copy-db needs --to postgres://user@host:5432/name; see `aftercare copy-db --help`"}
			}
			if !postgres.IsURL(to) {
				return aftercare.FieldErrorf("to", "give the PostgreSQL URL to copy into (postgres://user@host:5432/name), not %q", redactURL(to))
			}
			if err := a.checkSQLiteSource(ctx, force); err != nil {
				return err
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			src, ok := a.store.(*sqlite.DB)
			if !ok {
				return aftercare.FieldErrorf("db", "copy-db copies from a SQLite file: --db must name one")
			}
			dst, err := postgres.Open(ctx, withConnectTimeout(to), postgres.WithNow(a.now))
			if err != nil {
				return postgresOpenError(to, "--to", err)
			}
			defer func() { _ = dst.Close() }() // closing a pool returns no error
			var counts []postgres.TableCount
			err = src.Snapshot(ctx, func(q sqlite.Query) error {
				var err error
				counts, err = dst.CopyInto(ctx, postgres.SourceQuery(q))
				return err
			})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(struct {
					From   string                `json:"from"`
					To     string                `json:"to"`
					Tables []postgres.TableCount `json:"tables"`
				}{src.Path(), dst.Path(), counts})
			}
			a.printf("Copied %s into %s:\n", src.Path(), dst.Path())
			tw := a.table()
			fmt.Fprintln(tw, "TABLE\tROWS")
			for _, t := range counts {
				fmt.Fprintf(tw, "%s\t%d\n", t.Table, t.Rows)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the empty PostgreSQL database to copy into (postgres://user@host:5432/name)")
	cmd.Flags().BoolVar(&force, "force", false, "copy even though a serve holds a live claim lease on the SQLite file")
	return cmd
}

// checkSQLiteSource refuses a --db that is not an existing SQLite file
// (opening one that does not exist would create it and copy an empty
// clinic), and, unless force, one a serve is running on.
func (a *app) checkSQLiteSource(ctx context.Context, force bool) error {
	cfg, err := loadConfig(a.env)
	if err != nil {
		return envError(err)
	}
	path := a.dbPath(cfg)
	if postgres.IsURL(path) {
		return aftercare.FieldErrorf("db", "copy-db copies from a SQLite file: --db must name one, not a PostgreSQL URL")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return aftercare.FieldErrorf("db", "there is no SQLite file at %s: name the one to copy with --db", path)
	}
	owners, err := sqlite.LiveLeases(ctx, path, a.now())
	if err != nil {
		return err
	}
	if len(owners) > 0 && !force {
		return aftercare.Errorf(aftercare.ECONFLICT, "a serve is running on %s (live claim lease of %s): stop every serve on it first, "+
			"or what it sends during and after the copy would be sent again from PostgreSQL; --force only if it died "+
			"(its lease lapses after AFTERCARE_CLAIM_LEASE)", path, owners[0])
	}
	return nil
}
