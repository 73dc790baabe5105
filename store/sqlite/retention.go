package sqlite

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

var _ aftercare.RetentionStore = (*DB)(nil)

const (
	// purgeableMessages: the clinic's settled messages due and last
	// changed before ?, whose text is not a purge marker already. It reads
	// messages_log_status one settled state at a time. A pending message is
	// never purged, however old (it is still owed), and messages kept on
	// enrollments (plan.go) are pending and weeks ahead.
	purgeableMessages = `SELECT m.id, m.text_id FROM messages m
	WHERE m.clinic_id = ? AND m.status IN ('sent', 'delivered', 'undelivered', 'failed', 'unknown', 'skipped', 'expired', 'cancelled')
	AND m.send_at < ? AND m.updated_at < ? AND (m.text_id IS NULL OR m.text_id NOT IN (SELECT id FROM purged_texts))`
	insertPurgedText = `INSERT INTO message_texts (id, subject, body) VALUES (?, '', ?)`
	markPurgedText   = `INSERT INTO purged_texts (id) VALUES (?)`
	// The subject and body a message holds itself (messages written before
	// migration 0003) go too.
	repointMessages  = `UPDATE messages SET text_id = ?, subject = '', body = '' WHERE id IN (?)`
	createPurgeTexts = `CREATE TEMP TABLE IF NOT EXISTS purge_texts (id INTEGER PRIMARY KEY)`
	dropPurgeTexts   = `DROP TABLE IF EXISTS temp.purge_texts`
	textsStillUsed   = `SELECT DISTINCT text_id FROM messages WHERE text_id IN (SELECT id FROM temp.purge_texts)`
	plannedColumnsOf = `SELECT planned FROM enrollments WHERE planned IS NOT NULL`
	deleteTexts      = `DELETE FROM message_texts WHERE id IN (?) AND id NOT IN (SELECT id FROM purged_texts)`
)

// replyPurges purge the texts of patients' replies: each statement takes
// (marker, clinic id, before, marker) and replaces the text of the clinic's
// replies received before that time. Every table of patients' words adds
// its statement here.
var replyPurges = []string{
	`UPDATE replies SET body = ? WHERE clinic_id = ? AND received_at < ? AND body <> ?`,
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// PurgeTexts replaces the texts of the clinic's settled messages older than
// before with marker, and deletes the stored texts no message uses any
// more (see aftercare.RetentionStore). It all happens in one transaction;
// a dry run does the same work and rolls it back, so its counts are exact.
func (db *DB) PurgeTexts(ctx context.Context, clinicID int64, before time.Time, marker string, dryRun bool) (aftercare.PurgeCounts, error) {
	var n aftercare.PurgeCounts
	switch {
	case clinicID == 0:
		return n, invalid("a purge needs a clinic")
	case before.IsZero():
		return n, invalid("a purge needs a time: texts older than it are purged")
	case strings.TrimSpace(marker) == "":
		return n, invalid("a purge needs a marker to put in place of the texts")
	}
	err := db.write(ctx, "purge texts", func(tx *sqlx.Tx) error {
		var err error
		if n, err = purgeTx(ctx, tx, clinicID, norm(before), marker); err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return aftercare.PurgeCounts{}, err
	}
	return n, nil
}

func purgeTx(ctx context.Context, tx *sqlx.Tx, clinicID int64, before time.Time, marker string) (aftercare.PurgeCounts, error) {
	var n aftercare.PurgeCounts
	b := formatTime(before)
	for _, q := range replyPurges {
		res, err := tx.ExecContext(ctx, q, marker, clinicID, b, marker)
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n.Replies += int(k)
	}

	var ids []int64
	old := map[int64]bool{} // the texts the purged messages had
	rows, err := tx.QueryxContext(ctx, purgeableMessages, clinicID, b, b)
	if err != nil {
		return n, err
	}
	for rows.Next() {
		var id int64
		var text *int64
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return n, err
		}
		ids = append(ids, id)
		if text != nil {
			old[*text] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return n, err
	}
	n.Messages = len(ids)

	var markerID int64
	if err := tx.GetContext(ctx, &markerID, maxTextID); err != nil {
		return n, err
	}
	markerID++
	if _, err := tx.ExecContext(ctx, insertPurgedText, markerID, marker); err != nil {
		return n, err
	}
	if _, err := tx.ExecContext(ctx, markPurgedText, markerID); err != nil {
		return n, err
	}
	if err := chunks(ids, func(ids []int64) error {
		q, args, err := sqlx.In(repointMessages, markerID, ids)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, q, args...)
		return err
	}); err != nil {
		return n, err
	}

	// A text is shared by the messages one write planned (text.go): it
	// goes once no message row, and no message kept on an enrollment,
	// uses it.
	if err := unusedTexts(ctx, tx, old); err != nil || len(old) == 0 {
		return n, err
	}
	gone := make([]int64, 0, len(old))
	for id := range old {
		gone = append(gone, id)
	}
	err = chunks(gone, func(ids []int64) error {
		q, args, err := sqlx.In(deleteTexts, ids)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		n.Texts += int(k)
		return nil
	})
	return n, err
}

// unusedTexts removes from texts the ids a message row or a kept message
// still uses.
func unusedTexts(ctx context.Context, tx *sqlx.Tx, texts map[int64]bool) error {
	// One pass over messages (text_id has no index of its own: an import
	// would pay for it on every row) against a temporary table of the ids.
	if _, err := tx.ExecContext(ctx, createPurgeTexts); err != nil {
		return err
	}
	defer func() { _, _ = tx.ExecContext(ctx, dropPurgeTexts) }() // a temp table goes with its connection anyway
	if _, err := tx.ExecContext(ctx, `DELETE FROM temp.purge_texts`); err != nil {
		return err
	}
	b := newBulk(tx, "temp.purge_texts", []string{"id"})
	defer b.close()
	for id := range texts {
		if err := b.add(ctx, id); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	var used []int64
	if err := tx.SelectContext(ctx, &used, textsStillUsed); err != nil {
		return err
	}
	for _, id := range used {
		delete(texts, id)
	}
	if len(texts) == 0 {
		return nil
	}
	rows, err := tx.QueryxContext(ctx, plannedColumnsOf)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		if err := plan.ForgetKeptTexts(texts, b); err != nil {
			return err
		}
	}
	return rows.Err()
}
