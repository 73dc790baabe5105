package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.SummaryStore = (*DB)(nil)

const (
	// The day's messages by state. Pending ones are not in
	// messages_log_status, so this reads the clinic's rows (the plan it
	// had with them in the index, at 100,000 messages, was the same).
	countDayMessages = `SELECT status, count(*) FROM messages
	WHERE clinic_id = $1 AND send_at >= $2 AND send_at < $3 GROUP BY status`
	// Why the skipped and expired ones were not sent: the error the
	// dispatcher recorded, or the note the planner left.
	countDayReasons = `SELECT status, reason, n FROM (
		SELECT status, CASE WHEN error <> '' THEN error ELSE note END AS reason, count(*) AS n FROM messages
		WHERE clinic_id = $1 AND send_at >= $2 AND send_at < $3 AND status IN ('skipped', 'expired')
		GROUP BY 1, 2) r
	ORDER BY n DESC, status, reason COLLATE "C" LIMIT 50`
	countDayOptOuts = `SELECT channel, count(*) FROM consent_events
	WHERE clinic_id = $1 AND action = 'withdrawn' AND at >= $2 AND at < $3 GROUP BY channel`
	countDayReplies = `SELECT count(*) FROM replies WHERE clinic_id = $1 AND received_at >= $2 AND received_at < $3`
)

// CountDay counts the clinic's messages due in [since, until) by state,
// the reasons of the skipped and expired ones, the opt-outs and the
// replies of the range (see aftercare.SummaryStore), in one snapshot.
func (db *DB) CountDay(ctx context.Context, clinicID int64, since, until time.Time) (*aftercare.DayCounts, error) {
	if clinicID == 0 {
		return nil, invalid("counting a day needs a clinic")
	}
	if !since.Before(until) {
		return nil, invalid("counting a day needs a range that ends after it starts (%s to %s)", since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	a, b := norm(since), norm(until)
	d := &aftercare.DayCounts{Messages: map[aftercare.Status]int{}, OptOuts: map[aftercare.Channel]int{}}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbError("count day", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only: nothing to undo
	err = eachRow(ctx, tx, func(rows pgx.Rows) error {
		var s string
		var n int
		err := rows.Scan(&s, &n)
		d.Messages[aftercare.Status(s)] = n
		return err
	}, countDayMessages, clinicID, a, b)
	if err == nil {
		err = eachRow(ctx, tx, func(rows pgx.Rows) error {
			var r aftercare.ReasonCount
			err := rows.Scan(&r.Status, &r.Reason, &r.Count)
			d.Reasons = append(d.Reasons, r)
			return err
		}, countDayReasons, clinicID, a, b)
	}
	if err == nil {
		err = eachRow(ctx, tx, func(rows pgx.Rows) error {
			var ch string
			var n int
			err := rows.Scan(&ch, &n)
			d.OptOuts[aftercare.Channel(ch)] = n
			return err
		}, countDayOptOuts, clinicID, a, b)
	}
	if err == nil {
		err = tx.QueryRow(ctx, countDayReplies, clinicID, a, b).Scan(&d.Replies)
	}
	if err != nil {
		return nil, dbError("count day", err)
	}
	return d, nil
}

const (
	// A day's row is inserted once; a try that failed for a reason that
	// may pass is taken again, by the one writer whose update matches.
	claimSummary = `INSERT INTO clinic_summaries (clinic_id, local_day, claimed_at) VALUES ($1, $2, $3)
	ON CONFLICT (clinic_id, local_day) DO UPDATE SET claimed_at = excluded.claimed_at, error = ''
	WHERE clinic_summaries.sent_at IS NULL AND starts_with(clinic_summaries.error, $4) AND clinic_summaries.claimed_at <= $5`
	finishSummary = `UPDATE clinic_summaries SET sent_at = $1, error = $2 WHERE clinic_id = $3 AND local_day = $4`
	listSummaries = `SELECT clinic_id, local_day, claimed_at, sent_at, error FROM clinic_summaries
	WHERE clinic_id = $1 ORDER BY local_day DESC LIMIT $2`
)

// ClaimSummary inserts the ledger's row of the clinic's summary of day,
// or takes a retryable one again; claimed is false when it is there
// already (the primary key decides between serves racing for it).
func (db *DB) ClaimSummary(ctx context.Context, clinicID int64, day string, at time.Time) (bool, error) {
	if err := aftercare.ValidateDay(day); err != nil {
		return false, err
	}
	var claimed bool
	err := db.write(ctx, "claim summary", func(tx pgx.Tx) error {
		at := db.stamp(at)
		tag, err := tx.Exec(ctx, claimSummary, clinicID, day, at, aftercare.SummaryRetry, at.Add(-aftercare.SummaryRetryAfter))
		claimed = err == nil && tag.RowsAffected() == 1
		return err
	})
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return false, notFound("no clinic %d", clinicID)
	}
	return claimed, err
}

// FinishSummary records the outcome of a claimed summary.
func (db *DB) FinishSummary(ctx context.Context, clinicID int64, day string, sentAt time.Time, errText string) error {
	return db.write(ctx, "finish summary", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, finishSummary, ts(sentAt), strings.TrimSpace(errText), clinicID, day)
		return oneRow(tag, err, notFound("the summary of %s was not claimed for clinic %d", day, clinicID))
	})
}

// ListSummaries returns the clinic's latest summaries, newest day first.
func (db *DB) ListSummaries(ctx context.Context, clinicID int64, limit int) ([]*aftercare.SummaryRecord, error) {
	limit, err := check.PageLimit(limit, 30)
	if err != nil {
		return nil, err
	}
	rs, err := queryAll(ctx, db.pool, func(s scanner) (*aftercare.SummaryRecord, error) {
		var r aftercare.SummaryRecord
		err := s.Scan(&r.ClinicID, &r.Day, (*dbTime)(&r.ClaimedAt), (*dbTime)(&r.SentAt), &r.Error)
		return &r, err
	}, listSummaries, clinicID, limit)
	return rs, dbError("list summaries", err)
}
