package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
	"github.com/aftercare/aftercare/store/internal/plan"
)

var _ aftercare.EnrollmentStore = (*DB)(nil)

const enrollmentColumns = `e.id, e.clinic_id, e.patient_id, e.protocol_id, p.slug, p.version, e.treated_at,
	e.status, e.idem_key, e.source, e.created_at, e.updated_at, e.cancelled_at`

// enrollmentFrom joins the protocol, whose slug and version an Enrollment carries.
const enrollmentFrom = ` FROM enrollments e JOIN protocols p ON p.id = e.protocol_id`

// enrollmentDest appends the scan destinations of enrollmentColumns in e to dst.
func enrollmentDest(dst []any, e *aftercare.Enrollment) []any {
	return append(dst, &e.ID, &e.ClinicID, &e.PatientID, &e.ProtocolID, &e.ProtocolSlug, &e.ProtocolVersion,
		(*dbTime)(&e.TreatedAt), &e.Status, &e.Key, &e.Source, (*dbTime)(&e.CreatedAt), (*dbTime)(&e.UpdatedAt),
		(*dbTime)(&e.CancelledAt))
}

func scanEnrollment(s scanner) (*aftercare.Enrollment, error) {
	var e aftercare.Enrollment
	if err := s.Scan(enrollmentDest(make([]any, 0, 13), &e)...); err != nil {
		return nil, err
	}
	return &e, nil
}

const findEnrollment = `SELECT ` + enrollmentColumns + enrollmentFrom + ` WHERE e.clinic_id = $1 AND e.id = $2`

// FindEnrollment returns the clinic's enrollment with that id, with
// ProtocolSlug and ProtocolVersion filled. It returns ENOTFOUND when the
// clinic has no such enrollment.
func (db *DB) FindEnrollment(ctx context.Context, clinicID, id int64) (*aftercare.Enrollment, error) {
	return findEnrollmentIn(ctx, db.pool, "", clinicID, id)
}

// findEnrollmentIn reads the enrollment with q; lock is "" or a locking
// clause (" FOR UPDATE OF e").
func findEnrollmentIn(ctx context.Context, q querier, lock string, clinicID, id int64) (*aftercare.Enrollment, error) {
	e, err := scanEnrollment(q.QueryRow(ctx, findEnrollment+lock, clinicID, id))
	return found(e, err, "find enrollment", "no enrollment %d in this clinic", id)
}

// listEnrollments reads one page of the clinic's enrollments (the inner
// query walks enrollments' (clinic_id, id) index, or enrollments_patient
// for one patient, newest first, and stops at the limit) and then, for that
// page only, their protocols, patients and the counts of their messages
// (found through messages' (enrollment_id, ...) key), and the messages kept
// on them (plan.go), which are pending and later than any pending row. %s
// is the inner query's extra conditions.
var listEnrollments = `SELECT ` + enrollmentColumns + `, ` + prefixed("pt", patientColumns) + `,
	count(*) FILTER (WHERE m.status IN ('pending', 'sending')),
	count(*) FILTER (WHERE m.status IN ('sent', 'delivered')),
	count(*) FILTER (WHERE m.status IN ('failed', 'undelivered', 'unknown', 'expired')),
	min(m.send_at) FILTER (WHERE m.status = 'pending'), e.planned, e.planned_next
FROM (SELECT id FROM enrollments WHERE clinic_id = $1%s ORDER BY id DESC LIMIT $2) page
JOIN enrollments e ON e.id = page.id
JOIN protocols p ON p.id = e.protocol_id
JOIN patients pt ON pt.id = e.patient_id
LEFT JOIN messages m ON m.enrollment_id = e.id
GROUP BY e.id, p.id, pt.id
ORDER BY e.id DESC`

// ListEnrollments returns the enrollments matching f, newest (highest ID)
// first, each with its patient and the counts of its messages: Pending
// (pending or sending), Done (sent or delivered), Problems (failed,
// undelivered, unknown or expired) and NextSendAt, the earliest send time
// of a pending message. Pass the last row's ID as f.BeforeID for the next
// page. It returns EINVALID when f.ClinicID is 0 or f.Limit is negative,
// and ENOTFOUND when f.PatientID is not one of the clinic's patients.
func (db *DB) ListEnrollments(ctx context.Context, f aftercare.EnrollmentFilter) ([]*aftercare.EnrollmentSummary, error) {
	if f.ClinicID == 0 {
		return nil, invalid("listing enrollments needs a clinic")
	}
	limit, err := check.PageLimit(f.Limit, DefaultListLimit)
	if err != nil {
		return nil, err
	}
	var cond strings.Builder
	args := []any{f.ClinicID, limit}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.PatientID != 0 {
		cond.WriteString(` AND patient_id = ` + arg(f.PatientID))
	}
	if !f.Since.IsZero() {
		cond.WriteString(` AND created_at >= ` + arg(norm(f.Since)))
	}
	if f.BeforeID != 0 {
		cond.WriteString(` AND id < ` + arg(f.BeforeID))
	}
	q := strings.Replace(listEnrollments, "%s", cond.String(), 1)
	out, err := queryAll(ctx, db.pool, func(s scanner) (*aftercare.EnrollmentSummary, error) {
		var e aftercare.Enrollment
		var p aftercare.Patient
		var planned []byte
		var plannedNext time.Time
		sum := &aftercare.EnrollmentSummary{Enrollment: &e, Patient: &p}
		dest := patientDest(enrollmentDest(make([]any, 0, 34), &e), &p)
		err := s.Scan(append(dest, &sum.Pending, &sum.Done, &sum.Problems, (*dbTime)(&sum.NextSendAt), &planned, (*dbTime)(&plannedNext))...)
		if err != nil {
			return nil, err
		}
		// Messages kept on the enrollment (plan.go) are pending too; one
		// query reads them with the rows, so a thaw never counts one twice.
		kept, err := plan.Count(planned)
		if err != nil {
			return nil, fmt.Errorf("enrollment %d: %w", e.ID, err)
		}
		sum.Pending += kept
		if !plannedNext.IsZero() && (sum.NextSendAt.IsZero() || plannedNext.Before(sum.NextSendAt)) {
			sum.NextSendAt = plannedNext
		}
		return sum, nil
	}, q, args...)
	if err != nil {
		return nil, dbError("list enrollments", err)
	}
	if len(out) == 0 && f.PatientID != 0 {
		// Nothing, or not this clinic's patient: only the second is an error.
		var n int
		if err := db.pool.QueryRow(ctx, patientExists, f.ClinicID, f.PatientID).Scan(&n); err != nil {
			return nil, dbError("list enrollments", err)
		}
		if n == 0 {
			return nil, notFound("no patient %d in this clinic", f.PatientID)
		}
	}
	return out, nil
}

const (
	patientExists    = `SELECT count(*) FROM patients WHERE clinic_id = $1 AND id = $2`
	cancelEnrollment = `UPDATE enrollments SET status = 'cancelled', cancelled_at = $1, updated_at = $1
WHERE clinic_id = $2 AND id = $3 AND status <> 'cancelled'`
	cancelPendingMessages = `UPDATE messages SET status = 'cancelled', note = $1, updated_at = $2
WHERE enrollment_id = $3 AND status = 'pending'`
	enrollmentExists = `SELECT count(*) FROM enrollments WHERE clinic_id = $1 AND id = $2`
)

// Notes of messages cancelled by the store.
const (
	cancelledNote   = "enrollment cancelled"
	rescheduledNote = "rescheduled" // enrollment.go's EnrollmentStore.Reschedule
)

// CancelEnrollment marks the clinic's enrollment id cancelled at at (the
// current time when zero) and cancels its pending messages with the note
// "enrollment cancelled"; messages in any other state (being sent, sent,
// skipped...) are left as they are. It returns how many messages it
// cancelled: 0 for an enrollment cancelled already, which it leaves
// unchanged. It returns ENOTFOUND when the clinic has no such enrollment.
//
// A message a dispatcher claims at the same moment is either claimed
// first (it is sending, and stays so) or cancelled first (the claim, which
// wants it pending, passes over it): the UPDATE waits for the claim's row
// lock and re-reads the row.
func (db *DB) CancelEnrollment(ctx context.Context, clinicID, id int64, at time.Time) (int, error) {
	at = db.stamp(at)
	var n int64
	err := db.write(ctx, "cancel enrollment", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, cancelEnrollment, at, clinicID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 { // cancelled already, or not this clinic's
			var exists int
			if err := tx.QueryRow(ctx, enrollmentExists, clinicID, id).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return notFound("no enrollment %d in this clinic", id)
			}
			return nil
		}
		// Messages kept on the enrollment (plan.go) become rows first, so
		// that the cancel reaches them too.
		if err := thawEnrollment(ctx, tx, clinicID, id); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, cancelPendingMessages, cancelledNote, at, id)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
