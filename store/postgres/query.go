// Small helpers shared by the queries of every file.

package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// scanner is a row: pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// querier runs queries: the pool (*pgxpool.Pool) or a transaction (pgx.Tx).
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// queryAll runs query on q and returns its rows, each read by scan, in
// order; none is an empty slice, not nil.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := eachRow(ctx, q, func(rows pgx.Rows) error {
		x, err := scan(rows)
		if err == nil {
			out = append(out, x)
		}
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachRow runs query on q and calls fn with each row, stopping at fn's first
// error, and closes the rows. A slice argument is a PostgreSQL array: write
// `= ANY($1)` where SQLite's queries have IN (?).
func eachRow(ctx context.Context, q querier, fn func(pgx.Rows) error, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// oneRow returns err, or missing when the statement that gave tag changed
// no row.
func oneRow(tag pgconn.CommandTag, err error, missing error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return missing
	}
	return nil
}

// dedupe returns xs without repeats, in first-seen order.
func dedupe[T comparable](xs []T) []T {
	seen := make(map[T]struct{}, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if _, ok := seen[x]; !ok {
			seen[x] = struct{}{}
			out = append(out, x)
		}
	}
	return out
}

// found is the answer of a lookup of one row that scanned v: ENOTFOUND
// with the message format and args when there was no row, the error as
// dbError names it after op, or v.
func found[T any](v T, err error, op, format string, args ...any) (T, error) {
	var zero T
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, notFound(format, args...)
	}
	if err != nil {
		return zero, dbError(op, err)
	}
	return v, nil
}
