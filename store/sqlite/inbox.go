package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

var _ aftercare.InboxStore = (*DB)(nil)

const (
	insertReply = `INSERT INTO replies (clinic_id, patient_id, enrollment_id, message_id, from_number, to_number, body,
	provider_id, received_at, kind, red_flag, red_flag_words, auto_answered)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider_id) DO NOTHING RETURNING id`
	replyColumns = `r.id, r.clinic_id, r.patient_id, r.enrollment_id, r.message_id, r.from_number, r.to_number, r.body,
	r.provider_id, r.received_at, r.kind, r.red_flag, r.red_flag_words, r.read_at, r.read_by, r.auto_answered,
	COALESCE(p.name, ''), COALESCE(m.step_key, '')`
	// The patient and the message are joined within the reply's clinic, so
	// a stored id can never show another clinic's row.
	replyFrom = ` FROM replies r
	LEFT JOIN patients p ON p.id = r.patient_id AND p.clinic_id = r.clinic_id
	LEFT JOIN messages m ON m.id = r.message_id AND m.clinic_id = r.clinic_id`
	// Unread red flags first: they need a person now.
	replyOrder      = ` ORDER BY (r.red_flag = 1 AND r.read_at IS NULL) DESC, r.received_at DESC, r.id DESC`
	countUnread     = `SELECT COUNT(*) FROM replies WHERE clinic_id = ? AND read_at IS NULL`
	markReplyRead   = `UPDATE replies SET read_at = COALESCE(read_at, ?), read_by = CASE WHEN read_at IS NULL THEN ? ELSE read_by END WHERE clinic_id = ? AND id = ?`
	setAutoAnswered = `UPDATE replies SET auto_answered = 1 WHERE clinic_id = ? AND id = ?`

	patientsByPhone = `SELECT id FROM patients WHERE clinic_id = ? AND phone = ? ORDER BY id`
	// The answered message is a step of the protocol, never one of
	// Aftercare's own answers.
	latestSMSOf = `SELECT patient_id, enrollment_id, id FROM messages
	WHERE clinic_id = ? AND patient_id IN (?) AND channel = 'sms' AND sent_at IS NOT NULL AND sent_at <= ?
	AND step_key NOT LIKE 'reply:%' ORDER BY sent_at DESC, id DESC LIMIT 1`
	latestEnrollmentOf = `SELECT patient_id, id FROM enrollments WHERE clinic_id = ? AND patient_id IN (?)
	ORDER BY created_at DESC, id DESC LIMIT 1`

	enrollmentPatient = `SELECT patient_id FROM enrollments WHERE clinic_id = ? AND id = ?`
	nextOccurrence    = `SELECT COALESCE(MAX(occurrence) + 1, 0) FROM messages WHERE enrollment_id = ? AND step_key = ? AND channel = ?`
	insertReplyMsg    = `INSERT INTO messages (id, clinic_id, enrollment_id, patient_id, step_key, occurrence, channel, lang,
	status, send_at, expires_at, note, text_id, segments, attempts, next_attempt_at, claimed_at, claimed_by, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	countAnswers = `SELECT COUNT(*) FROM messages WHERE clinic_id = ? AND patient_id = ? AND step_key IN (?) AND send_at >= ?`
)

// AddReply stores a reply unless its provider id is stored already.
func (db *DB) AddReply(ctx context.Context, r *aftercare.Reply) (bool, error) {
	if r.ClinicID == 0 || r.From == "" || r.ProviderID == "" {
		return false, invalid("a reply needs a clinic, a sender and a provider id")
	}
	if r.Kind == "" {
		r.Kind = aftercare.ReplyText
	}
	r.ReceivedAt = db.stamp(r.ReceivedAt)
	created := false
	err := db.write(ctx, "add reply", func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, insertReply, r.ClinicID, r.PatientID, r.EnrollmentID, r.MessageID, r.From, r.To, r.Body,
			r.ProviderID, ts(r.ReceivedAt), string(r.Kind), r.RedFlag, r.RedFlagWords, r.AutoAnswered).Scan(&r.ID)
		if errors.Is(err, sql.ErrNoRows) { // DO NOTHING: a replay
			return nil
		}
		created = err == nil
		return err
	})
	return created, err
}

// ReplySeen reports whether a reply with that provider id is stored.
func (db *DB) ReplySeen(ctx context.Context, providerID string) (bool, error) {
	var n int
	err := db.reader.GetContext(ctx, &n, `SELECT COUNT(*) FROM replies WHERE provider_id = ?`, providerID)
	return n > 0, err
}

func scanReply(s scanner) (*aftercare.Reply, error) {
	r := &aftercare.Reply{}
	err := s.Scan(&r.ID, &r.ClinicID, &r.PatientID, &r.EnrollmentID, &r.MessageID, &r.From, &r.To, &r.Body,
		&r.ProviderID, (*dbTime)(&r.ReceivedAt), &r.Kind, &r.RedFlag, &r.RedFlagWords, (*dbTime)(&r.ReadAt), &r.ReadBy,
		&r.AutoAnswered, &r.PatientName, &r.StepKey)
	return r, err
}

// FindReply returns a reply of the clinic. ENOTFOUND.
func (db *DB) FindReply(ctx context.Context, clinicID, id int64) (*aftercare.Reply, error) {
	r, err := scanReply(db.reader.QueryRowxContext(ctx, `SELECT `+replyColumns+replyFrom+` WHERE r.clinic_id = ? AND r.id = ?`, clinicID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no reply %d in this clinic", id)
	}
	return r, err
}

// ListReplies returns the clinic's replies, unread red flags first, then
// newest first.
func (db *DB) ListReplies(ctx context.Context, f aftercare.ReplyFilter) ([]*aftercare.Reply, error) {
	if f.ClinicID == 0 || f.Limit < 0 {
		return nil, invalid("listing replies needs a clinic and a limit of 0 or more")
	}
	q := `SELECT ` + replyColumns + replyFrom + ` WHERE r.clinic_id = ?`
	args := []any{f.ClinicID}
	if f.PatientID != 0 {
		q += ` AND r.patient_id = ?`
		args = append(args, f.PatientID)
	}
	if f.Unread {
		q += ` AND r.read_at IS NULL`
	}
	q += replyOrder
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, db.reader, scanReply, q, args...)
}

// CountUnread counts the clinic's unread replies.
func (db *DB) CountUnread(ctx context.Context, clinicID int64) (int, error) {
	var n int
	err := db.reader.GetContext(ctx, &n, countUnread, clinicID)
	return n, err
}

// MarkRead marks a reply read, the first time only. ENOTFOUND.
func (db *DB) MarkRead(ctx context.Context, clinicID, id, userID int64, at time.Time) error {
	return db.updateReply(ctx, "mark a reply read", id, markReplyRead, ts(db.stamp(at)), userID, clinicID, id)
}

// SetAutoAnswered records that Aftercare answered a reply. ENOTFOUND.
func (db *DB) SetAutoAnswered(ctx context.Context, clinicID, id int64) error {
	return db.updateReply(ctx, "record an answer", id, setAutoAnswered, clinicID, id)
}

func (db *DB) updateReply(ctx context.Context, op string, id int64, q string, args ...any) error {
	return db.write(ctx, op, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("no reply %d in this clinic", id)
		}
		return nil
	})
}

// MatchReply finds the clinic's patient with that phone and the SMS the
// reply answers. ENOTFOUND when no patient has the number.
func (db *DB) MatchReply(ctx context.Context, clinicID int64, phone string, before time.Time) (*aftercare.ReplyMatch, error) {
	var ids []int64
	if phone == "" {
		return nil, notFound("no patient has an empty number")
	}
	if err := db.reader.SelectContext(ctx, &ids, patientsByPhone, clinicID, phone); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, notFound("no patient of this clinic has the number %s", aftercare.MaskPhone(phone))
	}
	m := &aftercare.ReplyMatch{}
	q, args, err := sqlx.In(latestSMSOf, clinicID, ids, ts(db.stamp(before)))
	if err != nil {
		return nil, err
	}
	err = db.reader.QueryRowxContext(ctx, q, args...).Scan(&m.PatientID, &m.EnrollmentID, &m.MessageID)
	if err == nil {
		return m, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	q, args, err = sqlx.In(latestEnrollmentOf, clinicID, ids)
	if err != nil {
		return nil, err
	}
	err = db.reader.QueryRowxContext(ctx, q, args...).Scan(&m.PatientID, &m.EnrollmentID)
	if errors.Is(err, sql.ErrNoRows) { // a patient without enrollments (none are made so today)
		return &aftercare.ReplyMatch{PatientID: ids[0]}, nil
	}
	return m, err
}

// AddReplyMessage stores an answer to a reply as a message of the
// enrollment, claimed by owner when it is sent now.
func (db *DB) AddReplyMessage(ctx context.Context, m *aftercare.Message, owner string) error {
	if m.Channel != aftercare.SMS || m.StepKey == "" || m.Body == "" {
		return invalid("an answer to a reply is an SMS with a step key and a text")
	}
	now := db.now()
	if m.SendAt.IsZero() {
		m.SendAt = now
	}
	m.SendAt, m.ExpiresAt = norm(m.SendAt), norm(m.ExpiresAt)
	m.Status, m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = aftercare.StatusPending, m.SendAt, now, now
	if owner != "" {
		m.Status, m.ClaimedBy, m.ClaimedAt, m.Attempts = aftercare.StatusSending, owner, now, 1
	}
	return db.write(ctx, "add an answer", func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &m.PatientID, enrollmentPatient, m.ClinicID, m.EnrollmentID); errors.Is(err, sql.ErrNoRows) {
			return notFound("no enrollment %d in this clinic", m.EnrollmentID)
		} else if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &m.Occurrence, nextOccurrence, m.EnrollmentID, m.StepKey, string(m.Channel)); err != nil {
			return err
		}
		texts := newTextWriter(tx)
		defer texts.close()
		textID, err := texts.stored(ctx, "", m.Body)
		if err != nil {
			return err
		}
		if m.ID, err = messageIDs(ctx, tx, 1); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insertReplyMsg, m.ID, m.ClinicID, m.EnrollmentID, m.PatientID, m.StepKey, m.Occurrence,
			string(m.Channel), m.Lang, string(m.Status), ts(m.SendAt), ts(m.ExpiresAt), m.Note, textID, m.Segments, m.Attempts,
			ts(m.NextAttemptAt), ts(m.ClaimedAt), m.ClaimedBy, ts(now), ts(now))
		return err
	})
}

// CountAnswers counts the patient's messages of those steps planned since.
func (db *DB) CountAnswers(ctx context.Context, clinicID, patientID int64, stepKeys []string, since time.Time) (int, error) {
	if len(stepKeys) == 0 {
		return 0, nil
	}
	q, args, err := sqlx.In(countAnswers, clinicID, patientID, stepKeys, ts(norm(since)))
	if err != nil {
		return 0, err
	}
	var n int
	err = db.reader.GetContext(ctx, &n, q, args...)
	return n, err
}
