package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.AuditStore = (*DB)(nil)

// DefaultAuditLimit is how many entries ListAudit returns when the caller
// gives no limit.
const DefaultAuditLimit = 100

const (
	insertAudit = `INSERT INTO audit (clinic_id, user_id, actor, action, subject, detail, at)
	VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`
	// listAudit walks audit_clinic_at backwards; %s is the extra conditions.
	listAudit = `SELECT id, clinic_id, user_id, actor, action, subject, detail, at FROM audit
	WHERE clinic_id = ?%s ORDER BY at DESC, id DESC LIMIT ?`
)

// RecordAudit stores e and sets its ID, and At to now when it is zero.
func (db *DB) RecordAudit(ctx context.Context, e *aftercare.AuditEntry) error {
	if err := checkAudit(e); err != nil {
		return err
	}
	e.At = db.stamp(e.At)
	return db.write(ctx, "record audit", func(tx *sqlx.Tx) error { return execAudit(ctx, tx, e) })
}

func checkAudit(e *aftercare.AuditEntry) error {
	switch {
	case e == nil || e.ClinicID == 0:
		return invalid("an audit entry needs a clinic")
	case strings.TrimSpace(e.Actor) == "":
		return invalid("an audit entry needs an actor")
	case strings.TrimSpace(e.Action) == "":
		return invalid("an audit entry needs an action")
	}
	return nil
}

// execAudit inserts e (At already stamped) inside tx, so that a change and
// its entry are written together.
func execAudit(ctx context.Context, tx *sqlx.Tx, e *aftercare.AuditEntry) error {
	return tx.QueryRowxContext(ctx, insertAudit, e.ClinicID, e.UserID, e.Actor, e.Action, e.Subject, e.Detail, ts(e.At)).Scan(&e.ID)
}

// ListAudit returns the clinic's entries matching f, newest first.
func (db *DB) ListAudit(ctx context.Context, f aftercare.AuditFilter) ([]*aftercare.AuditEntry, error) {
	if f.ClinicID == 0 {
		return nil, invalid("listing the audit log needs a clinic")
	}
	limit, err := check.PageLimit(f.Limit, DefaultAuditLimit)
	if err != nil {
		return nil, err
	}
	var cond strings.Builder
	args := []any{f.ClinicID}
	if !f.Since.IsZero() {
		cond.WriteString(` AND at >= ?`)
		args = append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		cond.WriteString(` AND at < ?`)
		args = append(args, formatTime(f.Until))
	}
	if !f.BeforeAt.IsZero() {
		cond.WriteString(` AND (at < ? OR (at = ? AND id < ?))`)
		b := formatTime(f.BeforeAt)
		args = append(args, b, b, f.BeforeID)
	}
	args = append(args, limit)
	out, err := queryAll(ctx, db.reader, func(s scanner) (*aftercare.AuditEntry, error) {
		e := &aftercare.AuditEntry{}
		return e, s.Scan(&e.ID, &e.ClinicID, &e.UserID, &e.Actor, &e.Action, &e.Subject, &e.Detail, (*dbTime)(&e.At))
	}, fmt.Sprintf(listAudit, cond.String()), args...)
	return out, dbError("list audit", err)
}
