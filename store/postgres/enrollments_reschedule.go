package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

const (
	rescheduleEnrollment = `UPDATE enrollments SET treated_at = $1, idem_key = $2, updated_at = $3 WHERE id = $4`
	enrollmentByKey      = `SELECT id FROM enrollments WHERE clinic_id = $1 AND idem_key = $2`
	// enrollmentMessagesLocked locks the rows it reads: a dispatcher that
	// claims one meanwhile waits, and one that claimed it first has made it
	// sending, which Reschedule leaves as history.
	enrollmentMessagesLocked = `SELECT ` + messageColumns + ` FROM messages m` + messageText +
		` WHERE m.enrollment_id = $1 ORDER BY m.id FOR UPDATE OF m`
	replanMessage = `UPDATE messages SET status = $1, lang = $2, send_at = $3, expires_at = $4, next_attempt_at = $5,
	note = $6, segments = $7, updated_at = $8, text_id = COALESCE($9, text_id)
WHERE id = $10`
	unplanMessage = `UPDATE messages SET status = 'cancelled', note = $1, updated_at = $2 WHERE id = $3`
	insertMessage = `INSERT INTO messages (clinic_id, enrollment_id, patient_id, step_key, occurrence,
	channel, lang, status, send_at, expires_at, note, text_id, segments, next_attempt_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id`
)

// Reschedule saves e's new TreatedAt and Key (e is found by ClinicID and ID)
// and applies plan, all or nothing, as enrollment.go's EnrollmentStore
// describes: a planned message whose stored twin (same step, occurrence and
// channel) is pending or skipped, or was cancelled by an earlier Reschedule
// (note "rescheduled"), takes the plan's status, language, times, note and
// text; a twin in any other state is history and stays as it is; a planned
// message without a twin is inserted; a pending message the plan no longer
// has is cancelled with the note "rescheduled". Times are stamped at (the
// current time when zero).
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
	var cur *aftercare.Enrollment
	var result []aftercare.Message
	err := db.write(ctx, "reschedule", func(tx pgx.Tx) error {
		var err error
		cur, err = rescheduleEnrollmentTx(ctx, tx, e, at)
		if err != nil {
			return err
		}
		result, err = replanTx(ctx, tx, cur, plan, at)
		return err
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

// rescheduleEnrollmentTx locks the stored enrollment, checks that e may
// replace it, and saves e's treatment time and key; it returns the stored
// enrollment as it is now.
func rescheduleEnrollmentTx(ctx context.Context, tx pgx.Tx, e *aftercare.Enrollment, at time.Time) (*aftercare.Enrollment, error) {
	cur, err := findEnrollmentIn(ctx, tx, " FOR UPDATE OF e", e.ClinicID, e.ID)
	if err != nil {
		return nil, err
	}
	if cur.Status == aftercare.EnrollmentCancelled {
		return nil, conflict("enrollment %d is cancelled: it cannot be rescheduled", e.ID)
	}
	if e.Key != cur.Key {
		var other int64
		err := tx.QueryRow(ctx, enrollmentByKey, e.ClinicID, e.Key).Scan(&other)
		if err == nil {
			return nil, conflict("enrollment %d already has that key: the patient is enrolled on this protocol for that treatment time", other)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	cur.TreatedAt, cur.Key, cur.UpdatedAt = norm(e.TreatedAt), e.Key, at
	if _, err := tx.Exec(ctx, rescheduleEnrollment, cur.TreatedAt, cur.Key, at, cur.ID); err != nil {
		return nil, err
	}
	return cur, nil
}

// replanTx applies plan to enrollment cur's stored messages (see
// Reschedule) and returns, for each plan message, its stored row.
func replanTx(ctx context.Context, tx pgx.Tx, cur *aftercare.Enrollment, plan []*aftercare.Message, at time.Time) ([]aftercare.Message, error) {
	// Messages kept on the enrollment become rows first: the plan's twins
	// are found among rows.
	if err := thawEnrollment(ctx, tx, cur.ClinicID, cur.ID); err != nil {
		return nil, err
	}
	twins := map[check.Ident]*aftercare.Message{}
	order, err := queryAll(ctx, tx, scanMessage, enrollmentMessagesLocked, cur.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range order {
		twins[check.IdentOf(m)] = m
	}
	texts := newTextWriter(tx)
	result := make([]aftercare.Message, len(plan))
	planned := make(map[check.Ident]bool, len(plan))
	for i, m := range plan {
		id := check.IdentOf(m)
		planned[id] = true
		tw := twins[id]
		send, expires, next := check.PlannedTimes(m)
		switch {
		case tw == nil:
			textID, err := texts.id(ctx, m.Subject, m.Body)
			if err != nil {
				return nil, err
			}
			var newID int64
			if err := tx.QueryRow(ctx, insertMessage, cur.ClinicID, cur.ID, cur.PatientID, m.StepKey, m.Occurrence,
				string(m.Channel), m.Lang, string(m.Status), send, ts(expires), m.Note, textID, m.Segments, ts(next), at).Scan(&newID); err != nil {
				return nil, err
			}
			r := *m
			r.ID, r.ClinicID, r.EnrollmentID, r.PatientID = newID, cur.ClinicID, cur.ID, cur.PatientID
			r.SendAt, r.ExpiresAt, r.NextAttemptAt = send, expires, next
			r.Attempts, r.ClaimedAt, r.ClaimedBy, r.SentAt, r.DeliveredAt = 0, time.Time{}, "", time.Time{}, time.Time{}
			r.Sender, r.ProviderID, r.ProviderState, r.ErrorCode, r.Error = "", "", "", "", ""
			r.CreatedAt, r.UpdatedAt = at, at
			result[i] = r
		case tw.Status == aftercare.StatusPending || tw.Status == aftercare.StatusSkipped ||
			tw.Status == aftercare.StatusCancelled && tw.Note == rescheduledNote:
			var textID any // NULL: the twin keeps its text
			if m.Subject != tw.Subject || m.Body != tw.Body {
				if textID, err = texts.id(ctx, m.Subject, m.Body); err != nil {
					return nil, err
				}
			}
			if _, err := tx.Exec(ctx, replanMessage, string(m.Status), m.Lang, send, ts(expires), ts(next), m.Note,
				m.Segments, at, textID, tw.ID); err != nil {
				return nil, err
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
			if _, err := tx.Exec(ctx, unplanMessage, rescheduledNote, at, tw.ID); err != nil {
				return nil, err
			}
		}
	}
	return result, nil
}
