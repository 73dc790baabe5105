package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/jmoiron/sqlx"
)

// Provider status reports. messageByProvider repeats the condition of the
// partial index messages_provider (a provider id is not empty): with
// provider_id = ? alone SQLite plans a full scan and reaches the index only
// by re-preparing the statement once a non-empty id is bound; with the
// condition the plan is the index whatever is bound, and TestQueryPlans can
// check it.
const (
	messageByProvider = `SELECT id, status FROM messages WHERE provider_id = ? AND provider_id <> ''`
	advanceMessage    = `UPDATE messages SET status = ?, provider_status = ?, delivered_at = COALESCE(?, delivered_at),
	error_code = CASE WHEN ? <> '' THEN ? ELSE error_code END, updated_at = ? WHERE id = ?`
	keptReport      = `SELECT status FROM provider_reports WHERE provider_id = ?`
	keepEarlyReport = `INSERT INTO provider_reports (provider_id, status, error_code, at) VALUES (?, ?, ?, ?)
	ON CONFLICT (provider_id) DO UPDATE SET status = excluded.status, error_code = excluded.error_code, at = excluded.at`
	takeEarlyReport  = `DELETE FROM provider_reports WHERE provider_id = ? RETURNING status, error_code, at`
	purgeEarlyReport = `DELETE FROM provider_reports WHERE at < ?`
	anyEarlyReport   = `SELECT EXISTS (SELECT 1 FROM provider_reports)`
)

// earlyReportTTL is how long a report whose message is not known is kept:
// long enough for the reconciler to settle a send that crashed (minutes, or
// until the process is back), short enough that reports for messages that
// are not ours do not pile up.
const earlyReportTTL = 7 * 24 * time.Hour

// ApplyProviderStatus moves the message with providerID forward only. A
// report for a provider id no message has yet is kept (see
// provider_reports in migration 0004) and applied by RecordOutcome or
// Resolve when they store that id; moved is false then.
func (db *DB) ApplyProviderStatus(ctx context.Context, providerID string, status aftercare.Status, errorCode string, at time.Time) (bool, error) {
	if providerID == "" {
		return false, invalid("a provider status needs the provider's message id")
	}
	if !status.Valid() {
		return false, invalid("unknown status %q", status)
	}
	at = db.stamp(at)
	moved := false
	err := db.write(ctx, "apply provider status", func(tx *sqlx.Tx) error {
		moved = false
		var id int64
		var cur string
		err := tx.QueryRowxContext(ctx, messageByProvider, providerID).Scan(&id, &cur)
		if errors.Is(err, sql.ErrNoRows) {
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
func advance(ctx context.Context, tx *sqlx.Tx, id int64, cur, status aftercare.Status, errorCode string, at, now time.Time) (bool, error) {
	if !aftercare.CanAdvance(cur, status) {
		return false, nil
	}
	var delivered any
	if status == aftercare.StatusDelivered {
		delivered = ts(at)
	}
	_, err := tx.ExecContext(ctx, advanceMessage, string(status), string(status), delivered, errorCode, errorCode, ts(now), id)
	return err == nil, err
}

// keepReport stores a report for a provider id no message has yet, unless
// the one kept already is as far along (reports come out of order), and
// drops kept reports older than earlyReportTTL.
func keepReport(ctx context.Context, tx *sqlx.Tx, providerID string, status aftercare.Status, errorCode string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, purgeEarlyReport, ts(at.Add(-earlyReportTTL))); err != nil {
		return err
	}
	var kept string
	err := tx.QueryRowxContext(ctx, keptReport, providerID).Scan(&kept)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case !aftercare.CanAdvance(aftercare.Status(kept), status):
		return nil
	}
	_, err = tx.ExecContext(ctx, keepEarlyReport, providerID, string(status), errorCode, ts(at))
	return err
}

// applyKeptReport applies, forward only, a report that came for providerID
// before message id had it (cur is the message's status now), and forgets
// the report.
func applyKeptReport(ctx context.Context, tx *sqlx.Tx, id int64, providerID string, cur aftercare.Status, now time.Time) error {
	if providerID == "" {
		return nil
	}
	var status, errorCode string
	var at dbTime
	err := tx.QueryRowxContext(ctx, takeEarlyReport, providerID).Scan(&status, &errorCode, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	_, err = advance(ctx, tx, id, cur, aftercare.Status(status), errorCode, time.Time(at), now)
	return err
}
