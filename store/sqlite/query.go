// Small helpers shared by the queries of every file. Why not more of sqlx
// (named queries, Select, struct scans): see the package doc in sqlite.go.

package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
)

// scanner is a row: *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryAll runs query on q and returns its rows, each read by scan, in
// order; none is an empty slice, not nil. It is the loop every list method
// would otherwise write: query, close, Next, scan, Err.
func queryAll[T any](ctx context.Context, q sqlx.QueryerContext, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := eachRow(ctx, q, func(rows *sqlx.Rows) error {
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
// error, and closes the rows.
func eachRow(ctx context.Context, q sqlx.QueryerContext, fn func(*sqlx.Rows) error, query string, args ...any) error {
	rows, err := q.QueryxContext(ctx, query, args...)
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

// eachRowIn is eachRow for a query with an IN (?) that sqlx.In expands to
// the elements of a slice argument.
func eachRowIn(ctx context.Context, q sqlx.QueryerContext, fn func(*sqlx.Rows) error, query string, args ...any) error {
	query, args, err := sqlx.In(query, args...)
	if err != nil {
		return err
	}
	return eachRow(ctx, q, fn, query, args...)
}

// oneRow returns err, or missing when the statement that gave res changed
// no row.
func oneRow(res sql.Result, err error, missing error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
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
	if errors.Is(err, sql.ErrNoRows) {
		return zero, notFound(format, args...)
	}
	if err != nil {
		return zero, dbError(op, err)
	}
	return v, nil
}

// execID runs an INSERT in tx and returns the new row's id.
func execID(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}
