package sqlite

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// Query runs a SELECT on the database a Snapshot shows.
type Query func(ctx context.Context, query string) (*sql.Rows, error)

// Snapshot calls fn with the whole database as store/postgres's schema
// sees it (`aftercare copy-db` reads each of its tables through fn's
// query). Messages kept on their enrollments (plan.go) stay there: both
// engines keep them in the same form (store/internal/plan), and
// store/postgres's CopyInto checks them and moves its message ids past
// theirs. Besides:
//
//   - every message has a text_id (one written before migration 0003 gets
//     a message_texts row for its own subject and body);
//   - message_texts has a purged column, 1 for the texts purged_texts lists.
//
// All this happens inside a writer transaction that is rolled back when fn
// returns, so the file is left as it was; writers of other processes wait
// meanwhile. fn's error, or the first met, is returned.
func (db *DB) Snapshot(ctx context.Context, fn func(q Query) error) error {
	tx, err := db.writer.BeginTxx(ctx, nil)
	if err != nil {
		return dbError("snapshot", err)
	}
	defer tx.Rollback()
	if err := snapshotRows(ctx, tx); err != nil {
		return dbError("snapshot", err)
	}
	return fn(func(ctx context.Context, query string) (*sql.Rows, error) {
		return tx.QueryContext(ctx, query)
	})
}

const (
	legacyTexts   = `SELECT id, subject, body FROM messages WHERE text_id IS NULL`
	setTextID     = `UPDATE messages SET text_id = ?, subject = '', body = '' WHERE id = ?`
	addPurgedFlag = `ALTER TABLE message_texts ADD COLUMN purged INTEGER NOT NULL DEFAULT 0`
	setPurgedFlag = `UPDATE message_texts SET purged = 1 WHERE id IN (SELECT id FROM purged_texts)`
)

// snapshotRows makes, inside tx, the changes Snapshot lists.
func snapshotRows(ctx context.Context, tx *sqlx.Tx) error {
	type legacy struct {
		id            int64
		subject, body string
	}
	var old []legacy
	err := eachRow(ctx, tx, func(rows *sqlx.Rows) error {
		var l legacy
		err := rows.Scan(&l.id, &l.subject, &l.body)
		old = append(old, l)
		return err
	}, legacyTexts)
	if err != nil {
		return err
	}
	texts := newTextWriter(tx)
	defer texts.close()
	for _, l := range old {
		id, err := texts.stored(ctx, l.subject, l.body)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, setTextID, id, l.id); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, addPurgedFlag); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, setPurgedFlag)
	return err
}
