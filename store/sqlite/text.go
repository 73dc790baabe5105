package sqlite

import (
	"context"

	"github.com/jmoiron/sqlx"
)

const maxTextID = `SELECT COALESCE(MAX(id), 0) FROM message_texts`

// textWriter stores the texts of the messages one transaction writes: each
// distinct (subject, body) once, as a new message_texts row. IDs are
// assigned here, like enrollTx's (the transaction holds the write lock), so
// that rows can be buffered and written in bulk; flush before inserting a
// message that refers to one.
type textWriter struct {
	tx   *sqlx.Tx
	next int64 // 0 until read
	ids  map[textKey]int64
	bulk *bulk
}

type textKey struct{ subject, body string }

func newTextWriter(tx *sqlx.Tx) *textWriter {
	return &textWriter{tx: tx, ids: map[textKey]int64{}, bulk: newBulk(tx, "message_texts", []string{"id", "subject", "body"})}
}

// id returns the ID of the row holding subject and body, buffering a new
// row the first time the transaction asks for that text.
func (w *textWriter) id(ctx context.Context, subject, body string) (int64, error) {
	k := textKey{subject, body}
	if id, ok := w.ids[k]; ok {
		return id, nil
	}
	if w.next == 0 {
		if err := w.tx.GetContext(ctx, &w.next, maxTextID); err != nil {
			return 0, err
		}
		w.next++
	}
	id := w.next
	w.next++
	w.ids[k] = id
	return id, w.bulk.add(ctx, id, subject, body)
}

// stored is id, then flush: the row is in the table when it returns.
func (w *textWriter) stored(ctx context.Context, subject, body string) (int64, error) {
	id, err := w.id(ctx, subject, body)
	if err != nil {
		return 0, err
	}
	return id, w.flush(ctx)
}

// flush writes the buffered rows.
func (w *textWriter) flush(ctx context.Context) error { return w.bulk.flush(ctx) }

func (w *textWriter) close() { w.bulk.close() }
