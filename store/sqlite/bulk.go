package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Multi-row INSERTs. SQLite (as built by go-sqlite3) takes at most 32766
// bound variables per statement.
const (
	maxVariables     = 32766
	maxRowsPerInsert = 500
	maxInList        = 500 // values per IN (...) lookup
)

// bulk writes rows of one table with multi-row INSERT statements of up to
// per rows each, so that thousands of rows cost a few dozen statements
// rather than a round trip each. Rows are buffered: call flush at the end,
// and close to release the prepared statement.
type bulk struct {
	tx   *sqlx.Tx
	head string // INSERT INTO t (a, b) VALUES
	row1 string // (?, ?)
	cols int
	per  int
	args []any
	rows int
	full *sql.Stmt // the statement for a full chunk of per rows
}

func newBulk(tx *sqlx.Tx, table string, cols []string) *bulk {
	per := min(maxRowsPerInsert, maxVariables/len(cols))
	return &bulk{
		tx:   tx,
		head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
		row1: "(" + strings.Repeat("?, ", len(cols)-1) + "?)",
		cols: len(cols),
		per:  per,
		args: make([]any, 0, per*len(cols)),
	}
}

// add buffers one row (len(vals) must be the number of columns) and writes
// the buffer when it holds a full chunk.
func (b *bulk) add(ctx context.Context, vals ...any) error {
	if len(vals) != b.cols {
		panic("sqlite: bulk insert: wrong number of values")
	}
	b.args = append(b.args, vals...)
	b.rows++
	if b.rows == b.per {
		return b.flush(ctx)
	}
	return nil
}

// added is add for a row its caller appended to b.args itself (which spares
// a slice of values per row).
func (b *bulk) added(ctx context.Context) error {
	if len(b.args) != (b.rows+1)*b.cols {
		panic("sqlite: bulk insert: wrong number of values")
	}
	b.rows++
	if b.rows == b.per {
		return b.flush(ctx)
	}
	return nil
}

// flush writes the buffered rows.
func (b *bulk) flush(ctx context.Context) error {
	if b.rows == 0 {
		return nil
	}
	var err error
	if b.rows == b.per {
		if b.full == nil {
			b.full, err = b.tx.PrepareContext(ctx, b.query(b.per))
			if err != nil {
				return err
			}
		}
		_, err = b.full.ExecContext(ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(ctx, b.query(b.rows), b.args...)
	}
	clear(b.args) // let the values go
	b.args, b.rows = b.args[:0], 0
	return err
}

func (b *bulk) close() {
	if b.full != nil {
		b.full.Close()
	}
}

func (b *bulk) query(rows int) string {
	var s strings.Builder
	s.Grow(len(b.head) + rows*(len(b.row1)+2))
	s.WriteString(b.head)
	for i := range rows {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(b.row1)
	}
	return s.String()
}

// chunks calls fn with successive pieces of xs of at most maxInList values,
// for IN (...) lookups.
func chunks[T any](xs []T, fn func([]T) error) error {
	for len(xs) > 0 {
		n := min(len(xs), maxInList)
		if err := fn(xs[:n]); err != nil {
			return err
		}
		xs = xs[n:]
	}
	return nil
}
