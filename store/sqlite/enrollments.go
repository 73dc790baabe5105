package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
	"github.com/aftercare/aftercare/store/internal/plan"
	"github.com/jmoiron/sqlx"
)

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
	err := s.Scan(enrollmentDest(make([]any, 0, 13), &e)...)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

const findEnrollment = `SELECT ` + enrollmentColumns + enrollmentFrom + ` WHERE e.clinic_id = ? AND e.id = ?`

// FindEnrollment returns the clinic's enrollment with that id, with
// ProtocolSlug and ProtocolVersion filled. It returns ENOTFOUND when the
// clinic has no such enrollment.
func (db *DB) FindEnrollment(ctx context.Context, clinicID, id int64) (*aftercare.Enrollment, error) {
	return findEnrollmentIn(ctx, db.reader, clinicID, id)
}

func findEnrollmentIn(ctx context.Context, q sqlx.QueryerContext, clinicID, id int64) (*aftercare.Enrollment, error) {
	e, err := scanEnrollment(q.QueryRowxContext(ctx, findEnrollment, clinicID, id))
	return found(e, err, "find enrollment", "no enrollment %d in this clinic", id)
}

// listEnrollments reads one page of the clinic's enrollments (the inner
// query walks enrollments' (clinic_id, id) index, or enrollments_patient
// for one patient, newest first, and stops at the limit) and then, for that
// page only, their protocols, patients and the counts of their messages
// (found through messages' (enrollment_id, ...) key), with the messages
// kept on them (plan.go), which are pending and later than any pending row.
// %s is the inner
// query's extra conditions.
const listEnrollments = `SELECT e.id, e.clinic_id, e.patient_id, e.protocol_id, p.slug, p.version, e.treated_at,
	e.status, e.idem_key, e.source, e.created_at, e.updated_at, e.cancelled_at,
	pt.id, pt.clinic_id, pt.name, pt.phone, pt.email, pt.tz, pt.lang, pt.sms_consent_at, pt.sms_consent_source,
	pt.email_consent_at, pt.email_consent_source, pt.sms_opt_out_at, pt.email_opt_out_at, pt.created_at, pt.updated_at,
	COALESCE(SUM(m.status IN ('pending', 'sending')), 0),
	COALESCE(SUM(m.status IN ('sent', 'delivered')), 0),
	COALESCE(SUM(m.status IN ('failed', 'undelivered', 'unknown', 'expired')), 0),
	MIN(CASE WHEN m.status = 'pending' THEN m.send_at END), e.planned, e.planned_next
FROM (SELECT id FROM enrollments WHERE clinic_id = ?%s ORDER BY id DESC LIMIT ?) page
JOIN enrollments e ON e.id = page.id
JOIN protocols p ON p.id = e.protocol_id
JOIN patients pt ON pt.id = e.patient_id
LEFT JOIN messages m ON m.enrollment_id = e.id
GROUP BY e.id
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
	args := []any{f.ClinicID}
	if f.PatientID != 0 {
		cond.WriteString(` AND patient_id = ?`)
		args = append(args, f.PatientID)
	}
	if !f.Since.IsZero() {
		cond.WriteString(` AND created_at >= ?`)
		args = append(args, formatTime(f.Since))
	}
	if f.BeforeID != 0 {
		cond.WriteString(` AND id < ?`)
		args = append(args, f.BeforeID)
	}
	args = append(args, limit)
	q := strings.Replace(listEnrollments, "%s", cond.String(), 1)

	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError("list enrollments", err)
	}
	defer rows.Close()
	out := []*aftercare.EnrollmentSummary{}
	for rows.Next() {
		var e aftercare.Enrollment
		var p aftercare.Patient
		var planned []byte
		var plannedNext time.Time
		s := &aftercare.EnrollmentSummary{Enrollment: &e, Patient: &p}
		dest := patientDest(enrollmentDest(make([]any, 0, 34), &e), &p)
		err := rows.Scan(append(dest, &s.Pending, &s.Done, &s.Problems, (*dbTime)(&s.NextSendAt), &planned, (*dbTime)(&plannedNext))...)
		if err != nil {
			return nil, dbError("list enrollments", err)
		}
		// Messages kept on the enrollment (plan.go) are pending too.
		kept, err := plan.Count(planned)
		if err != nil {
			return nil, dbError("list enrollments", fmt.Errorf("enrollment %d: %w", e.ID, err))
		}
		s.Pending += kept
		if !plannedNext.IsZero() && (s.NextSendAt.IsZero() || plannedNext.Before(s.NextSendAt)) {
			s.NextSendAt = plannedNext
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list enrollments", err)
	}
	if len(out) == 0 && f.PatientID != 0 {
		// Nothing, or not this clinic's patient: only the second is an error.
		var n int
		if err := db.reader.GetContext(ctx, &n, patientExists, f.ClinicID, f.PatientID); err != nil {
			return nil, dbError("list enrollments", err)
		}
		if n == 0 {
			return nil, notFound("no patient %d in this clinic", f.PatientID)
		}
	}
	return out, nil
}

const (
	cancelEnrollment = `UPDATE enrollments SET status = 'cancelled', cancelled_at = ?, updated_at = ?
WHERE clinic_id = ? AND id = ? AND status <> 'cancelled'`
	cancelPendingMessages = `UPDATE messages SET status = 'cancelled', note = ?, updated_at = ?
WHERE enrollment_id = ? AND status = 'pending'`
	enrollmentExists = `SELECT COUNT(*) FROM enrollments WHERE clinic_id = ? AND id = ?`
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
func (db *DB) CancelEnrollment(ctx context.Context, clinicID, id int64, at time.Time) (int, error) {
	at = db.stamp(at)
	var n int64
	err := db.write(ctx, "cancel enrollment", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, cancelEnrollment, ts(at), ts(at), clinicID, id)
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if changed == 0 { // cancelled already, or not this clinic's
			var exists int
			if err := tx.GetContext(ctx, &exists, enrollmentExists, clinicID, id); err != nil {
				return err
			}
			if exists == 0 {
				return notFound("no enrollment %d in this clinic", id)
			}
			return nil
		}
		if err := thawEnrollment(ctx, tx, clinicID, id); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, cancelPendingMessages, cancelledNote, ts(at), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

const (
	rescheduleEnrollment = `UPDATE enrollments SET treated_at = ?, idem_key = ?, updated_at = ? WHERE id = ?`
	enrollmentByKey      = `SELECT id FROM enrollments WHERE clinic_id = ? AND idem_key = ?`
	enrollmentMessages   = `SELECT ` + messageColumns + ` FROM messages m` + messageText + ` WHERE m.enrollment_id = ? ORDER BY m.id`
	// replanMessage keeps the message's text; replanMessageText gives it
	// another (and empties a pre-0003 message's own text columns).
	replanMessage = `UPDATE messages SET status = ?, lang = ?, send_at = ?, expires_at = ?, next_attempt_at = ?,
	note = ?, segments = ?, updated_at = ?
WHERE id = ?`
	replanMessageText = `UPDATE messages SET status = ?, lang = ?, send_at = ?, expires_at = ?, next_attempt_at = ?,
	note = ?, segments = ?, updated_at = ?, text_id = ?, subject = '', body = ''
WHERE id = ?`
	unplanMessage = `UPDATE messages SET status = 'cancelled', note = ?, updated_at = ? WHERE id = ?`
)

// Reschedule saves e's new TreatedAt and Key (e is found by ClinicID and ID)
// and applies plan, all or nothing, as enrollment.go's EnrollmentStore describes:
// a planned message whose stored twin (same step, occurrence and channel) is
// pending or skipped, or was cancelled by an earlier Reschedule (note
// "rescheduled"), takes the plan's status, language, times, note and text; a
// twin in any other state is history and stays as it is; a planned message
// without a twin is inserted; a pending message the plan no longer has is
// cancelled with the note "rescheduled". Times are stamped at (the current
// time when zero).
//
// Afterwards e holds the stored enrollment, and each plan message the stored
// row of its ident (for a history twin, the twin unchanged).
//
// It returns ENOTFOUND when the clinic has no such enrollment, ECONFLICT when
// it is cancelled, when another enrollment of the clinic has e.Key or when
// the plan has a message twice, and EINVALID for an incomplete e or plan (as
// Enroll).
func (db *DB) Reschedule(ctx context.Context, e *aftercare.Enrollment, plan []*aftercare.Message, at time.Time) error {
	switch {
	case e == nil:
		return invalid("nothing to reschedule")
	case e.Key == "":
		return aftercare.FieldErrorf("key", "the enrollment has no key")
	case e.TreatedAt.IsZero():
		return aftercare.FieldErrorf("treated_at", "the enrollment has no treatment time")
	}
	for _, m := range plan {
		if m != nil && m.ClinicID != 0 && m.ClinicID != e.ClinicID {
			return invalid("message %s belongs to clinic %d, the enrollment to clinic %d", m.Ident(), m.ClinicID, e.ClinicID)
		}
	}
	if err := check.Plan(plan); err != nil {
		return err
	}
	at = db.stamp(at)
	atS := formatTime(at)
	var cur *aftercare.Enrollment
	result := make([]aftercare.Message, len(plan))
	err := db.write(ctx, "reschedule", func(tx *sqlx.Tx) error {
		var err error
		cur, err = findEnrollmentIn(ctx, tx, e.ClinicID, e.ID)
		if err != nil {
			return err
		}
		if cur.Status == aftercare.EnrollmentCancelled {
			return conflict("enrollment %d is cancelled: it cannot be rescheduled", e.ID)
		}
		if e.Key != cur.Key {
			var other int64
			err := tx.GetContext(ctx, &other, enrollmentByKey, e.ClinicID, e.Key)
			if err == nil {
				return conflict("enrollment %d already has that key: the patient is enrolled on this protocol for that treatment time", other)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		cur.TreatedAt, cur.Key, cur.UpdatedAt = norm(e.TreatedAt), e.Key, at
		if _, err := tx.ExecContext(ctx, rescheduleEnrollment, ts(cur.TreatedAt), cur.Key, atS, cur.ID); err != nil {
			return err
		}

		// Messages kept on the enrollment become rows first: the plan's
		// twins are found among rows.
		if err := thawEnrollment(ctx, tx, cur.ClinicID, cur.ID); err != nil {
			return err
		}
		order, err := queryAll(ctx, tx, scanMessage, enrollmentMessages, cur.ID)
		if err != nil {
			return err
		}
		twins := make(map[check.Ident]*aftercare.Message, len(order))
		for _, m := range order {
			twins[check.IdentOf(m)] = m
		}

		replan, err := tx.PrepareContext(ctx, replanMessage)
		if err != nil {
			return err
		}
		defer replan.Close()
		replanText, err := tx.PrepareContext(ctx, replanMessageText)
		if err != nil {
			return err
		}
		defer replanText.Close()
		texts := newTextWriter(tx)
		defer texts.close()
		ins := newBulk(tx, "messages", messageInsertColumns)
		insert, err := tx.PrepareContext(ctx, ins.query(1))
		if err != nil {
			return err
		}
		defer insert.Close()
		planned := make(map[check.Ident]bool, len(plan))
		for i, m := range plan {
			id := check.IdentOf(m)
			planned[id] = true
			tw := twins[id]
			switch {
			case tw == nil:
				textID, err := texts.stored(ctx, m.Subject, m.Body)
				if err != nil {
					return err
				}
				newID, err := messageIDs(ctx, tx, 1)
				if err != nil {
					return err
				}
				if _, err := insert.ExecContext(ctx, messageArgs(nil, newID, cur, m, textID, atS)...); err != nil {
					return err
				}
				r := *m
				r.ID, r.ClinicID, r.EnrollmentID, r.PatientID = newID, cur.ClinicID, cur.ID, cur.PatientID
				r.SendAt, r.ExpiresAt, r.NextAttemptAt = check.PlannedTimes(m)
				r.Attempts, r.ClaimedAt, r.ClaimedBy, r.SentAt, r.DeliveredAt = 0, time.Time{}, "", time.Time{}, time.Time{}
				r.Sender, r.ProviderID, r.ProviderState, r.ErrorCode, r.Error = "", "", "", "", ""
				r.CreatedAt, r.UpdatedAt = at, at
				result[i] = r
			case tw.Status == aftercare.StatusPending || tw.Status == aftercare.StatusSkipped ||
				tw.Status == aftercare.StatusCancelled && tw.Note == rescheduledNote:
				send, expires, next := check.PlannedTimes(m)
				args := []any{string(m.Status), m.Lang, formatTime(send), ts(expires), ts(next), m.Note, int64(m.Segments), atS}
				stmt := replan
				if m.Subject != tw.Subject || m.Body != tw.Body {
					textID, err := texts.stored(ctx, m.Subject, m.Body)
					if err != nil {
						return err
					}
					stmt, args = replanText, append(args, textID)
				}
				if _, err := stmt.ExecContext(ctx, append(args, tw.ID)...); err != nil {
					return err
				}
				r := *tw
				r.Status, r.Lang, r.SendAt, r.ExpiresAt, r.NextAttemptAt = m.Status, m.Lang, send, expires, next
				r.Note, r.Subject, r.Body, r.Segments, r.UpdatedAt = m.Note, m.Subject, m.Body, m.Segments, at
				result[i] = r
			default: // history
				result[i] = *tw
			}
		}
		for _, tw := range order {
			if tw.Status == aftercare.StatusPending && !planned[check.IdentOf(tw)] {
				if _, err := tx.ExecContext(ctx, unplanMessage, rescheduledNote, atS, tw.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	*e = *cur
	for i, m := range plan {
		*m = result[i]
	}
	return nil
}
