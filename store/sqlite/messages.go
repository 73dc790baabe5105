package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
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

// messageDest appends the scan destinations of messageColumns in m to dst.
func messageDest(dst []any, m *aftercare.Message) []any {
	return append(dst, &m.ID, &m.ClinicID, &m.EnrollmentID, &m.PatientID, &m.StepKey, &m.Occurrence, &m.Channel,
		&m.Lang, &m.Status, (*dbTime)(&m.SendAt), (*dbTime)(&m.ExpiresAt), &m.Note, &m.Subject, &m.Body,
		&m.Segments, &m.Attempts, (*dbTime)(&m.NextAttemptAt), (*dbTime)(&m.ClaimedAt), &m.ClaimedBy,
		(*dbTime)(&m.SentAt), (*dbTime)(&m.DeliveredAt), &m.Sender, &m.ProviderID, &m.ProviderState,
		&m.ErrorCode, &m.Error, (*dbTime)(&m.CreatedAt), (*dbTime)(&m.UpdatedAt))
}

func scanMessage(s scanner) (*aftercare.Message, error) {
	var m aftercare.Message
	err := s.Scan(messageDest(make([]any, 0, 28), &m)...)
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
	return plan.Merge(ms, kept, slugs, f), nil
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
	slices.SortFunc(all, plan.CompareSendID)
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
			if !s.Valid() {
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

	ms, err := queryAll(ctx, qr, scanMessage, q.String(), args...)
	return ms, dbError("list messages", err)
}
