package sqlite

import "database/sql"

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

// scanner is a row: *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
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
