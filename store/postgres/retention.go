package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

var _ aftercare.RetentionStore = (*DB)(nil)

const (
	// purgeableMessages: the clinic's settled messages due and last
	// changed before $2, whose text is not a purge marker already; locked,
	// so that a message settled meanwhile is not half purged. A pending or
	// sending message is never purged, however old (it is still owed), and
	// messages kept on enrollments (plan.go) are pending and weeks ahead.
	purgeableMessages = `SELECT m.id, m.text_id FROM messages m JOIN message_texts t ON t.id = m.text_id
	WHERE m.clinic_id = $1 AND m.status IN ('sent', 'delivered', 'undelivered', 'failed', 'unknown', 'skipped', 'expired', 'cancelled')
	AND m.send_at < $2 AND m.updated_at < $2 AND NOT t.purged
	FOR UPDATE OF m`
	insertPurgedText = `INSERT INTO message_texts (subject, body, purged) VALUES ('', $1, true) RETURNING id`
	repointMessages  = `UPDATE messages SET text_id = $1 WHERE id = ANY($2)`
	// plannedColumnsOf reads the messages kept on enrollments (plan.go),
	// through enrollments_planned.
	plannedColumnsOf = `SELECT planned FROM enrollments WHERE planned_next IS NOT NULL`
	// deleteUnusedTexts deletes, of the texts the purged messages had, those
	// no message row uses any more (a text is shared by the messages one
	// write planned), through messages_text; $1 leaves out those a kept
	// message uses.
	deleteUnusedTexts = `DELETE FROM message_texts t WHERE t.id = ANY($1) AND NOT t.purged
	AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.text_id = t.id)`
)

// replyPurges purge the texts of patients' replies: each statement takes
// (marker, clinic id, before) and replaces the text of the clinic's
// replies received before that time. Every table of patients' words adds
// its statement here.
var replyPurges = []string{
	`UPDATE replies SET body = $1 WHERE clinic_id = $2 AND received_at < $3 AND body <> $1`,
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
	err := db.write(ctx, "purge texts", func(tx pgx.Tx) error {
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

func purgeTx(ctx context.Context, tx pgx.Tx, clinicID int64, before time.Time, marker string) (aftercare.PurgeCounts, error) {
	var n aftercare.PurgeCounts
	for _, q := range replyPurges {
		tag, err := tx.Exec(ctx, q, marker, clinicID, before)
		if err != nil {
			return n, err
		}
		n.Replies += int(tag.RowsAffected())
	}
	var ids, old []int64
	err := eachRow(ctx, tx, func(rows pgx.Rows) error {
		var id, text int64
		if err := rows.Scan(&id, &text); err != nil {
			return err
		}
		ids, old = append(ids, id), append(old, text)
		return nil
	}, purgeableMessages, clinicID, before)
	if err != nil || len(ids) == 0 {
		return n, err
	}
	n.Messages = len(ids)
	var markerID int64
	if err := tx.QueryRow(ctx, insertPurgedText, marker).Scan(&markerID); err != nil {
		return n, err
	}
	if _, err := tx.Exec(ctx, repointMessages, markerID, ids); err != nil {
		return n, err
	}
	// A text goes once no message row, and no message kept on an
	// enrollment, uses it.
	texts, err := notKept(ctx, tx, dedupe(old))
	if err != nil || len(texts) == 0 {
		return n, err
	}
	tag, err := tx.Exec(ctx, deleteUnusedTexts, texts)
	if err != nil {
		return n, err
	}
	n.Texts = int(tag.RowsAffected())
	return n, nil
}

// notKept returns the ids of texts that no message kept on an enrollment
// uses. It reads every planned column, as store/sqlite's retention does: a
// text may be shared by enrollments of any clinic one batch wrote. A thaw
// committing meanwhile makes its text a row's, which deleteUnusedTexts
// sees, after this read saw it kept: either way the text stays.
func notKept(ctx context.Context, tx pgx.Tx, texts []int64) ([]int64, error) {
	left := make(map[int64]bool, len(texts))
	for _, id := range texts {
		left[id] = true
	}
	err := eachRow(ctx, tx, func(rows pgx.Rows) error {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		return plan.ForgetKeptTexts(left, b)
	}, plannedColumnsOf)
	if err != nil {
		return nil, err
	}
	out := texts[:0:0]
	for _, id := range texts {
		if left[id] {
			out = append(out, id)
		}
	}
	return out, nil
}
