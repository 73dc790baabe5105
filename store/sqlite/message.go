package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

// messageColumns are a message's columns, read from messages m and its text
// t (join messageText): message_texts' row, or for a message written before
// migration 0003 the text it holds itself.
const messageColumns = `m.id, m.clinic_id, m.enrollment_id, m.patient_id, m.step_key, m.occurrence, m.channel,
	m.lang, m.status, m.send_at, m.expires_at, m.note, COALESCE(t.subject, m.subject), COALESCE(t.body, m.body),
	m.segments, m.attempts, m.next_attempt_at, m.claimed_at, m.claimed_by, m.sent_at, m.delivered_at, m.sender,
	m.provider_id, m.provider_status, m.error_code, m.error, m.created_at, m.updated_at`

// messageText joins a message's text for messageColumns. A LEFT JOIN keeps
// messages the outer loop, in the order of the index that finds them.
const messageText = ` LEFT JOIN message_texts t ON t.id = m.text_id`

func scanMessage(s scanner) (*aftercare.Message, error) {
	var m aftercare.Message
	err := s.Scan(&m.ID, &m.ClinicID, &m.EnrollmentID, &m.PatientID, &m.StepKey, &m.Occurrence, &m.Channel,
		&m.Lang, &m.Status, (*dbTime)(&m.SendAt), (*dbTime)(&m.ExpiresAt), &m.Note, &m.Subject, &m.Body,
		&m.Segments, &m.Attempts, (*dbTime)(&m.NextAttemptAt), (*dbTime)(&m.ClaimedAt), &m.ClaimedBy,
		(*dbTime)(&m.SentAt), (*dbTime)(&m.DeliveredAt), &m.Sender, &m.ProviderID, &m.ProviderState,
		&m.ErrorCode, &m.Error, (*dbTime)(&m.CreatedAt), (*dbTime)(&m.UpdatedAt))
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// ListMessages returns the messages matching f ordered by SendAt, then ID.
// Pass the last message's SendAt and ID as f.AfterSendAt and f.AfterID to
// read the next page. It returns EINVALID when f.ClinicID is 0, f.Limit is
// negative, or a status or the channel is unknown.
//
// One enrollment's or one patient's messages (f.EnrollmentID or f.PatientID
// set) include those kept on their enrollments (plan.go); the clinic's log
// (neither set) lists rows, where a pending message appears once it is due
// within Horizon of the dispatcher's clock.
func (db *DB) ListMessages(ctx context.Context, f aftercare.MessageFilter) ([]*aftercare.Message, error) {
	if f.EnrollmentID == 0 && f.PatientID == 0 {
		switch {
		case len(f.Statuses) == 0: // the whole log, which has no index of its own (migration 0003)
			f.Statuses = aftercare.Statuses
			return db.listByStatuses(ctx, f)
		case len(f.Statuses) > 1 && f.Limit > 0:
			return db.listByStatuses(ctx, f)
		}
		return db.listMessages(ctx, db.reader, f)
	}
	// Rows and kept messages from one snapshot, so that a message made a
	// row in between is neither missed nor listed twice.
	tx, err := db.reader.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbError("list messages", err)
	}
	defer tx.Rollback()
	ms, err := db.listMessages(ctx, tx, f)
	if err != nil {
		return nil, err
	}
	kept, slugs, err := keptMessages(ctx, tx, f.ClinicID, f.EnrollmentID, f.PatientID)
	if err != nil {
		return nil, dbError("list messages", err)
	}
	return mergeKept(ms, kept, slugs, f), nil
}

// listByStatuses pages through several states at once as one query per
// state merged in (send_at, id) order: each is a range of
// messages_log_status, read no further than the page, where one query with
// status IN (...) makes SQLite walk the clinic's whole log to fill a page of
// rare states.
func (db *DB) listByStatuses(ctx context.Context, f aftercare.MessageFilter) ([]*aftercare.Message, error) {
	var all []*aftercare.Message
	seen := map[aftercare.Status]bool{}
	for _, st := range f.Statuses {
		if seen[st] {
			continue
		}
		seen[st] = true
		one := f
		one.Statuses = []aftercare.Status{st}
		ms, err := db.listMessages(ctx, db.reader, one)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	slices.SortFunc(all, compareSendID)
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[:f.Limit]
	}
	return all, nil
}

func (db *DB) listMessages(ctx context.Context, qr sqlx.QueryerContext, f aftercare.MessageFilter) ([]*aftercare.Message, error) {
	if f.ClinicID == 0 {
		return nil, invalid("listing messages needs a clinic")
	}
	if f.Limit < 0 {
		return nil, aftercare.FieldErrorf("limit", "the limit must not be negative, got %d", f.Limit)
	}
	if f.Channel != "" && f.Channel != aftercare.SMS && f.Channel != aftercare.Email {
		return nil, aftercare.FieldErrorf("channel", "unknown channel %q: use sms or email", f.Channel)
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + messageColumns + ` FROM messages m` + messageText)
	if f.ProtocolSlug != "" {
		q.WriteString(` JOIN enrollments e ON e.id = m.enrollment_id JOIN protocols p ON p.id = e.protocol_id`)
	}
	if f.EnrollmentID != 0 || f.PatientID != 0 {
		// The unary + keeps SQLite off messages_log_status, which would read
		// every message of the clinic (in the states asked for) to skip a
		// sort of one enrollment's or one patient's few.
		q.WriteString(` WHERE +m.clinic_id = ?`)
	} else {
		q.WriteString(` WHERE m.clinic_id = ?`)
	}
	args := []any{f.ClinicID}
	and := func(cond string, vals ...any) {
		q.WriteString(" AND " + cond)
		args = append(args, vals...)
	}
	if f.EnrollmentID != 0 {
		and(`m.enrollment_id = ?`, f.EnrollmentID)
	}
	if f.PatientID != 0 {
		// Through enrollments_patient and the messages' natural key: there
		// is no index of messages by patient (migration 0003).
		and(`m.patient_id = ? AND m.enrollment_id IN (SELECT pe.id FROM enrollments pe WHERE pe.clinic_id = ? AND pe.patient_id = ?)`,
			f.PatientID, f.ClinicID, f.PatientID)
	}
	if len(f.Statuses) > 0 {
		marks := make([]string, len(f.Statuses))
		vals := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			if !validStatus(s) {
				return nil, aftercare.FieldErrorf("status", "unknown status %q: use one of %v", s, aftercare.Statuses)
			}
			marks[i], vals[i] = "?", string(s)
		}
		and(`m.status IN (`+strings.Join(marks, ", ")+`)`, vals...)
	}
	if f.Channel != "" {
		and(`m.channel = ?`, string(f.Channel))
	}
	if f.ProtocolSlug != "" {
		and(`p.slug = ?`, f.ProtocolSlug)
	}
	if !f.Since.IsZero() {
		and(`m.send_at >= ?`, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		and(`m.send_at < ?`, formatTime(f.Until))
	}
	if !f.AfterSendAt.IsZero() || f.AfterID != 0 {
		and(`(m.send_at, m.id) > (?, ?)`, formatTime(f.AfterSendAt), f.AfterID)
	}
	q.WriteString(` ORDER BY m.send_at, m.id`)
	if f.Limit > 0 {
		q.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}

	rows, err := qr.QueryxContext(ctx, q.String(), args...)
	if err != nil {
		return nil, dbError("list messages", err)
	}
	defer rows.Close()
	ms := []*aftercare.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, dbError("list messages", err)
		}
		ms = append(ms, m)
	}
	return ms, dbError("list messages", rows.Err())
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
// and applies plan, all or nothing, as store.go's EnrollmentStore describes:
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
	if err := checkPlan(plan); err != nil {
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
		twins := map[ident]*aftercare.Message{}
		var order []*aftercare.Message
		rows, err := tx.QueryContext(ctx, enrollmentMessages, cur.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				rows.Close()
				return err
			}
			twins[identOf(m)] = m
			order = append(order, m)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
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
		planned := make(map[ident]bool, len(plan))
		for i, m := range plan {
			id := identOf(m)
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
				r.SendAt, r.ExpiresAt, r.NextAttemptAt = plannedTimes(m)
				r.Attempts, r.ClaimedAt, r.ClaimedBy, r.SentAt, r.DeliveredAt = 0, time.Time{}, "", time.Time{}, time.Time{}
				r.Sender, r.ProviderID, r.ProviderState, r.ErrorCode, r.Error = "", "", "", "", ""
				r.CreatedAt, r.UpdatedAt = at, at
				result[i] = r
			case tw.Status == aftercare.StatusPending || tw.Status == aftercare.StatusSkipped ||
				tw.Status == aftercare.StatusCancelled && tw.Note == rescheduledNote:
				send, expires, next := plannedTimes(m)
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
			if tw.Status == aftercare.StatusPending && !planned[identOf(tw)] {
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
