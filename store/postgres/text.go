package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

const insertText = `INSERT INTO message_texts (subject, body) VALUES ($1, $2) RETURNING id`

// textWriter stores the texts of the messages one transaction writes: each
// distinct (subject, body) once, as a new message_texts row. (The batch
// import allocates its texts' ids itself and copies them in bulk:
// enrollments_batch.go.)
type textWriter struct {
	tx  pgx.Tx
	ids map[textKey]int64
}

type textKey struct{ subject, body string }

func newTextWriter(tx pgx.Tx) *textWriter {
	return &textWriter{tx: tx, ids: map[textKey]int64{}}
}

// id returns the id of the row holding subject and body, inserting it the
// first time the transaction asks for that text.
func (w *textWriter) id(ctx context.Context, subject, body string) (int64, error) {
	k := textKey{subject, body}
	if id, ok := w.ids[k]; ok {
		return id, nil
	}
	var id int64
	if err := w.tx.QueryRow(ctx, insertText, subject, body).Scan(&id); err != nil {
		return 0, err
	}
	w.ids[k] = id
	return id, nil
}
