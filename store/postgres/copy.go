package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

// SourceQuery runs a SELECT on the database being copied (store/sqlite's
// Snapshot gives one) and returns its rows.
type SourceQuery func(ctx context.Context, query string) (*sql.Rows, error)

// TableCount is how many rows CopyInto copied into a table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// notCopied are tables each database keeps for itself.
var notCopied = []string{"schema_migrations", "readiness"}

// CopyInto copies every table of this schema from src, which must have the
// same tables and columns (store/sqlite's Snapshot shows a SQLite file so),
// in one transaction, parents before children, keeping ids, and then moves
// each identity sequence past the largest id copied. Nothing in it names a
// table: it reads the tables, their columns and their foreign keys from the
// catalog, and converts each value by its column's type (SQLite's text
// times, 0/1 booleans).
//
// It returns ECONFLICT, changing nothing, when any table has a row already
// (it copies into an empty database only), and an error naming the table
// when a row cannot be read or stored (the transaction is rolled back).
func (db *DB) CopyInto(ctx context.Context, src SourceQuery) ([]TableCount, error) {
	var counts []TableCount
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tables, err := tablesInOrder(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			var has bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+`)`).Scan(&has); err != nil {
				return err
			}
			if has {
				return conflict("the PostgreSQL database is not empty (table %s has rows): copy into a new, empty database (CREATE DATABASE ...)", t)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, tx, src, t)
			if err != nil {
				var ae *aftercare.Error
				if e := dbError("copy", err); errors.As(e, &ae) {
					return &aftercare.Error{Code: ae.Code, Field: ae.Field, Message: fmt.Sprintf("copying table %s: %s", t, ae.Message)}
				}
				return fmt.Errorf("copying table %s: %w", t, err)
			}
			counts = append(counts, TableCount{Table: t, Rows: n})
			if err := resetIdentity(ctx, tx, t); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
		}
		return checkKept(ctx, tx)
	})
	if err != nil {
		return nil, dbError("copy", err)
	}
	return counts, nil
}

const (
	// The schema's tables and, for each foreign key, the table it refers to.
	schemaTables = `SELECT c.relname FROM pg_class c
	WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' ORDER BY c.relname`
	schemaForeignKeys = `SELECT c.relname, p.relname FROM pg_constraint k
	JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
	WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace`
	// A table's columns with their types, in order; identity columns.
	tableColumns = `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity <> ''
	FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`
)

// tablesInOrder returns the schema's tables but notCopied, each after the
// tables its foreign keys refer to (by name among those ready).
func tablesInOrder(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var all []string
	err := eachRow(ctx, tx, func(rows pgx.Rows) error {
		var t string
		err := rows.Scan(&t)
		if !slices.Contains(notCopied, t) {
			all = append(all, t)
		}
		return err
	}, schemaTables)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	err = eachRow(ctx, tx, func(rows pgx.Rows) error {
		var child, parent string
		err := rows.Scan(&child, &parent)
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
		return err
	}, schemaForeignKeys)
	if err != nil {
		return nil, err
	}
	var order []string
	done := map[string]bool{}
	for len(order) < len(all) {
		before := len(order)
		for _, t := range all {
			if done[t] || slices.ContainsFunc(parents[t], func(p string) bool { return !done[p] }) {
				continue
			}
			done[t] = true
			order = append(order, t)
		}
		if len(order) == before {
			return nil, fmt.Errorf("the foreign keys of the tables form a cycle")
		}
	}
	return order, nil
}

// column is one column of a table being copied.
type column struct {
	name, typ string
	identity  bool
}

func columnsOf(ctx context.Context, tx pgx.Tx, table string) ([]column, error) {
	return queryAll(ctx, tx, func(s scanner) (column, error) {
		var c column
		return c, s.Scan(&c.name, &c.typ, &c.identity)
	}, tableColumns, pgx.Identifier{table}.Sanitize())
}

// copyTable copies src's rows of table, its columns converted to the
// types of this schema's, with COPY, and returns how many.
func copyTable(ctx context.Context, tx pgx.Tx, src SourceQuery, table string) (int64, error) {
	cols, err := columnsOf(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		names[i], quoted[i] = c.name, pgx.Identifier{c.name}.Sanitize()
	}
	rows, err := src(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+pgx.Identifier{table}.Sanitize())
	if err != nil {
		return 0, fmt.Errorf("reading it: %w", err)
	}
	defer rows.Close()
	raw := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	vals := make([]any, len(cols))
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i, c := range cols {
			v, err := convert(raw[i], c.typ)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.name, err)
			}
			vals[i] = v
		}
		return vals, nil
	}))
	if err != nil {
		return 0, err
	}
	return n, rows.Err()
}

// convert turns a value read from the source into one of PostgreSQL type
// typ: SQLite's times are text, its booleans 0 or 1, its text may come as
// bytes.
func convert(v any, typ string) (any, error) {
	if b, ok := v.([]byte); ok && typ != "bytea" {
		v = string(b)
	}
	switch typ {
	case "timestamp with time zone":
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a time", s)
			}
			return t.UTC(), nil
		}
	case "boolean":
		if i, ok := v.(int64); ok {
			return i != 0, nil
		}
	case "bytea":
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	}
	return v, nil
}

// resetIdentity moves the sequence of each identity column of table past
// the largest value copied, so that the next row gets a new id.
func resetIdentity(ctx context.Context, tx pgx.Tx, table string) error {
	cols, err := columnsOf(ctx, tx, table)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if !c.identity {
			continue
		}
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT max(%s) FROM %s), 0) + 1, false)`,
			pgx.Identifier{c.name}.Sanitize(), pgx.Identifier{table}.Sanitize())
		if _, err := tx.Exec(ctx, q, pgx.Identifier{table}.Sanitize(), c.name); err != nil {
			return err
		}
	}
	return nil
}

const (
	copiedPlans   = `SELECT id, planned FROM enrollments WHERE planned IS NOT NULL`
	textsPresent  = `SELECT count(*) FROM message_texts WHERE id = ANY($1)`
	passKeptIDs   = `SELECT setval(pg_get_serial_sequence('messages', 'id'), GREATEST((SELECT max(id) FROM messages), $1) + 1, false)`
	maxKeptChecks = 10_000 // text ids per textsPresent query
)

// checkKept checks the messages kept on the copied enrollments (the
// planned column, store/internal/plan): each enrollment's must read, and
// name texts that were copied, or a claim would fail on them later. Then
// it moves the messages' id sequence past the largest kept id: kept
// messages got their ids when they were planned, and become rows with them,
// which max(id) of messages does not see.
func checkKept(ctx context.Context, tx pgx.Tx) error {
	var maxID int64
	texts := map[int64]bool{}
	err := eachRow(ctx, tx, func(rows pgx.Rows) error {
		var id int64
		var planned []byte
		if err := rows.Scan(&id, &planned); err != nil {
			return err
		}
		ks, err := plan.Parse(planned)
		if err != nil {
			return invalid("the messages kept on enrollment %d (its planned column) do not read (%v): the source database is damaged and nothing was copied: restore it from a backup (aftercare restore) and copy again", id, err)
		}
		for _, k := range ks {
			maxID = max(maxID, k.ID)
			texts[k.TextID] = true
		}
		return nil
	}, copiedPlans)
	if err != nil {
		return fmt.Errorf("table enrollments: %w", err)
	}
	ids := make([]int64, 0, len(texts))
	for id := range texts {
		ids = append(ids, id)
	}
	for chunk := range slices.Chunk(ids, maxKeptChecks) {
		var n int
		if err := tx.QueryRow(ctx, textsPresent, chunk).Scan(&n); err != nil {
			return err
		}
		if n != len(chunk) {
			return invalid("messages kept on enrollments name %d texts that message_texts does not have: the source database is damaged and nothing was copied: restore it from a backup (aftercare restore) and copy again", len(chunk)-n)
		}
	}
	_, err = tx.Exec(ctx, passKeptIDs, maxID)
	return err
}
