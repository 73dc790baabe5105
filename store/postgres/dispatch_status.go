package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

// Provider status reports. messageByProvider repeats the condition of the
// partial index messages_provider, so the planner may use it; it locks the
// message, so that two reports for one message apply one after the other.
const (
	messageByProvider = `SELECT id, status FROM messages WHERE provider_id = $1 AND provider_id <> '' FOR UPDATE`
	advanceMessage    = `UPDATE messages SET status = $1, provider_status = $1, delivered_at = COALESCE($2, delivered_at),
	error_code = CASE WHEN $3 <> '' THEN $3 ELSE error_code END, updated_at = $4 WHERE id = $5`
	keptReport      = `SELECT status FROM provider_reports WHERE provider_id = $1 FOR UPDATE`
	keepEarlyReport = `INSERT INTO provider_reports (provider_id, status, error_code, at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (provider_id) DO UPDATE SET status = excluded.status, error_code = excluded.error_code, at = excluded.at`
	takeEarlyReport  = `DELETE FROM provider_reports WHERE provider_id = $1 RETURNING status, error_code, at`
	purgeEarlyReport = `DELETE FROM provider_reports WHERE at < $1`
	// lockProviderID serializes, per provider id, a report with no message
	// yet and the transaction that stores that id on its message: either
	// the report is kept first and the storing applies it, or the id is
	// stored first and the report finds its message.
	lockProviderID = `SELECT pg_advisory_xact_lock(hashtextextended('aftercare provider ' || $1, 0))`
)

// earlyReportTTL is how long a report whose message is not known is kept:
// long enough for the reconciler to settle a send that crashed (minutes, or
// until the process is back), short enough that reports for messages that
// are not ours do not pile up.
const earlyReportTTL = 7 * 24 * time.Hour

// ApplyProviderStatus moves the message with providerID forward only. A
// report for a provider id no message has yet is kept (provider_reports)
// and applied by RecordOutcome or Resolve when they store that id; moved is
// false then.
func (db *DB) ApplyProviderStatus(ctx context.Context, providerID string, status aftercare.Status, errorCode string, at time.Time) (bool, error) {
	if providerID == "" {
		return false, invalid("a provider status needs the provider's message id")
	}
	if !status.Valid() {
		return false, invalid("unknown status %q", status)
	}
	at = db.stamp(at)
	moved := false
	err := db.write(ctx, "apply provider status", func(tx pgx.Tx) error {
		moved = false
		if _, err := tx.Exec(ctx, lockProviderID, providerID); err != nil {
			return err
		}
		var id int64
		var cur string
		err := tx.QueryRow(ctx, messageByProvider, providerID).Scan(&id, &cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return keepReport(ctx, tx, providerID, status, errorCode, at)
		} else if err != nil {
			return err
		}
		moved, err = advance(ctx, tx, id, aftercare.Status(cur), status, errorCode, at, at)
		return err
	})
	return moved, err
}

// advance moves message id from cur to status if that is forward; at is
// when the provider reported it, now stamps the row.
func advance(ctx context.Context, tx pgx.Tx, id int64, cur, status aftercare.Status, errorCode string, at, now time.Time) (bool, error) {
	if !aftercare.CanAdvance(cur, status) {
		return false, nil
	}
	var delivered any
	if status == aftercare.StatusDelivered {
		delivered = at
	}
	_, err := tx.Exec(ctx, advanceMessage, string(status), delivered, errorCode, now, id)
	return err == nil, err
}

// keepReport stores a report for a provider id no message has yet, unless
// the one kept already is as far along (reports come out of order), and
// drops kept reports older than earlyReportTTL.
func keepReport(ctx context.Context, tx pgx.Tx, providerID string, status aftercare.Status, errorCode string, at time.Time) error {
	if _, err := tx.Exec(ctx, purgeEarlyReport, at.Add(-earlyReportTTL)); err != nil {
		return err
	}
	var kept string
	err := tx.QueryRow(ctx, keptReport, providerID).Scan(&kept)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	case !aftercare.CanAdvance(aftercare.Status(kept), status):
		return nil
	}
	_, err = tx.Exec(ctx, keepEarlyReport, providerID, string(status), errorCode, at)
	return err
}

// applyKeptReport applies, forward only, a report that came for providerID
// before message id had it (cur is the message's status now), and forgets
// the report.
func applyKeptReport(ctx context.Context, tx pgx.Tx, id int64, providerID string, cur aftercare.Status, now time.Time) error {
	if providerID == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, lockProviderID, providerID); err != nil {
		return err
	}
	var status, errorCode string
	var at dbTime
	err := tx.QueryRow(ctx, takeEarlyReport, providerID).Scan(&status, &errorCode, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	_, err = advance(ctx, tx, id, cur, aftercare.Status(status), errorCode, timeOf(at), now)
	return err
}
