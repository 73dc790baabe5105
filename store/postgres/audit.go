package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.AuditStore = (*DB)(nil)

// DefaultAuditLimit is how many entries ListAudit returns when the caller
// gives no limit.
const DefaultAuditLimit = 100

const (
	insertAudit = `INSERT INTO audit (clinic_id, user_id, actor, action, subject, detail, at)
	VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	// listAudit walks audit_clinic_at backwards; %s is the extra conditions.
	listAudit = `SELECT id, clinic_id, user_id, actor, action, subject, detail, at FROM audit
	WHERE clinic_id = $1%s ORDER BY at DESC, id DESC LIMIT %s`
)

// RecordAudit stores e and sets its ID, and At to now when it is zero.
// EINVALID without a clinic, an actor or an action; ENOTFOUND when the
// clinic does not exist.
func (db *DB) RecordAudit(ctx context.Context, e *aftercare.AuditEntry) error {
	if err := checkAudit(e); err != nil {
		return err
	}
	e.At = db.stamp(e.At)
	err := db.pool.QueryRow(ctx, insertAudit, e.ClinicID, e.UserID, e.Actor, e.Action, e.Subject, e.Detail, e.At).Scan(&e.ID)
	return dbError("record audit", err)
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
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !f.Since.IsZero() {
		cond.WriteString(` AND at >= ` + arg(norm(f.Since)))
	}
	if !f.Until.IsZero() {
		cond.WriteString(` AND at < ` + arg(norm(f.Until)))
	}
	if !f.BeforeAt.IsZero() {
		b := arg(norm(f.BeforeAt))
		cond.WriteString(` AND (at, id) < (` + b + `, ` + arg(f.BeforeID) + `)`)
	}
	q := fmt.Sprintf(listAudit, cond.String(), arg(limit))
	out, err := queryAll(ctx, db.pool, func(s scanner) (*aftercare.AuditEntry, error) {
		e := &aftercare.AuditEntry{}
		return e, s.Scan(&e.ID, &e.ClinicID, &e.UserID, &e.Actor, &e.Action, &e.Subject, &e.Detail, (*dbTime)(&e.At))
	}, q, args...)
	return out, dbError("list audit", err)
}
