package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

var _ aftercare.InboxStore = (*DB)(nil)

const (
	insertReply = `INSERT INTO replies (clinic_id, patient_id, enrollment_id, message_id, from_number, to_number, body,
	provider_id, received_at, kind, red_flag, red_flag_words, auto_answered)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (provider_id) DO NOTHING RETURNING id`
	replyColumns = `r.id, r.clinic_id, r.patient_id, r.enrollment_id, r.message_id, r.from_number, r.to_number, r.body,
	r.provider_id, r.received_at, r.kind, r.red_flag, r.red_flag_words, r.read_at, r.read_by, r.auto_answered,
	COALESCE(p.name, ''), COALESCE(m.step_key, '')`
	// The patient and the message are joined within the reply's clinic, so
	// a stored id can never show another clinic's row.
	replyFrom = ` FROM replies r
	LEFT JOIN patients p ON p.id = r.patient_id AND p.clinic_id = r.clinic_id
	LEFT JOIN messages m ON m.id = r.message_id AND m.clinic_id = r.clinic_id`
	// Unread red flags first: they need a person now.
	replyOrder      = ` ORDER BY (r.red_flag AND r.read_at IS NULL) DESC, r.received_at DESC, r.id DESC`
	findReply       = `SELECT ` + replyColumns + replyFrom + ` WHERE r.clinic_id = $1 AND r.id = $2`
	replySeen       = `SELECT EXISTS (SELECT 1 FROM replies WHERE provider_id = $1)`
	countUnread     = `SELECT count(*) FROM replies WHERE clinic_id = $1 AND read_at IS NULL`
	markReplyRead   = `UPDATE replies SET read_at = COALESCE(read_at, $1), read_by = CASE WHEN read_at IS NULL THEN $2 ELSE read_by END WHERE clinic_id = $3 AND id = $4`
	setAutoAnswered = `UPDATE replies SET auto_answered = true WHERE clinic_id = $1 AND id = $2`

	patientsByPhone = `SELECT id FROM patients WHERE clinic_id = $1 AND phone = $2 ORDER BY id`
	// The answered message is a step of the protocol, never one of
	// Aftercare's own answers.
	latestSMSOf = `SELECT patient_id, enrollment_id, id FROM messages
	WHERE clinic_id = $1 AND patient_id = ANY($2) AND channel = 'sms' AND sent_at IS NOT NULL AND sent_at <= $3
	AND step_key NOT LIKE 'reply:%' ORDER BY sent_at DESC, id DESC LIMIT 1`
	latestEnrollmentOf = `SELECT patient_id, id FROM enrollments WHERE clinic_id = $1 AND patient_id = ANY($2)
	ORDER BY created_at DESC, id DESC LIMIT 1`

	// enrollmentPatient locks the enrollment (FOR NO KEY UPDATE, which
	// inserting its messages does not wait for), so that two answers on one
	// enrollment take their occurrences one after the other.
	enrollmentPatient = `SELECT patient_id FROM enrollments WHERE clinic_id = $1 AND id = $2 FOR NO KEY UPDATE`
	nextOccurrence    = `SELECT COALESCE(MAX(occurrence) + 1, 0) FROM messages WHERE enrollment_id = $1 AND step_key = $2 AND channel = $3`
	insertReplyMsg    = `INSERT INTO messages (clinic_id, enrollment_id, patient_id, step_key, occurrence, channel, lang,
	status, send_at, expires_at, note, text_id, segments, attempts, next_attempt_at, claimed_at, claimed_by, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id`
	countAnswers = `SELECT count(*) FROM messages WHERE clinic_id = $1 AND patient_id = $2 AND step_key = ANY($3) AND send_at >= $4`
)

// AddReply stores a reply unless its provider id is stored already.
func (db *DB) AddReply(ctx context.Context, r *aftercare.Reply) (bool, error) {
	if r == nil || r.ClinicID == 0 || r.From == "" || r.ProviderID == "" {
		return false, invalid("a reply needs a clinic, a sender and a provider id")
	}
	if r.Kind == "" {
		r.Kind = aftercare.ReplyText
	}
	r.ReceivedAt = db.stamp(r.ReceivedAt)
	err := db.pool.QueryRow(ctx, insertReply, r.ClinicID, r.PatientID, r.EnrollmentID, r.MessageID, r.From, r.To, r.Body,
		r.ProviderID, r.ReceivedAt, string(r.Kind), r.RedFlag, r.RedFlagWords, r.AutoAnswered).Scan(&r.ID)
	if errors.Is(err, pgx.ErrNoRows) { // DO NOTHING: a replay
		return false, nil
	}
	if err != nil {
		return false, dbError("add reply", err)
	}
	return true, nil
}

// ReplySeen reports whether a reply with that provider id is stored.
func (db *DB) ReplySeen(ctx context.Context, providerID string) (bool, error) {
	var seen bool
	err := db.pool.QueryRow(ctx, replySeen, providerID).Scan(&seen)
	return seen, dbError("reply seen", err)
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
	r, err := scanReply(db.pool.QueryRow(ctx, findReply, clinicID, id))
	return found(r, err, "find reply", "no reply %d in this clinic", id)
}

// ListReplies returns the clinic's replies, unread red flags first, then
// newest first.
func (db *DB) ListReplies(ctx context.Context, f aftercare.ReplyFilter) ([]*aftercare.Reply, error) {
	if f.ClinicID == 0 || f.Limit < 0 {
		return nil, invalid("listing replies needs a clinic and a limit of 0 or more")
	}
	q := `SELECT ` + replyColumns + replyFrom + ` WHERE r.clinic_id = $1`
	args := []any{f.ClinicID}
	if f.PatientID != 0 {
		args = append(args, f.PatientID)
		q += ` AND r.patient_id = $2`
	}
	if f.Unread {
		q += ` AND r.read_at IS NULL`
	}
	q += replyOrder
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	out, err := queryAll(ctx, db.pool, scanReply, q, args...)
	return out, dbError("list replies", err)
}

// CountUnread counts the clinic's unread replies.
func (db *DB) CountUnread(ctx context.Context, clinicID int64) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, countUnread, clinicID).Scan(&n)
	return n, dbError("count unread", err)
}

// MarkRead marks a reply read, the first time only. ENOTFOUND.
func (db *DB) MarkRead(ctx context.Context, clinicID, id, userID int64, at time.Time) error {
	tag, err := db.pool.Exec(ctx, markReplyRead, db.stamp(at), userID, clinicID, id)
	return dbError("mark a reply read", oneRow(tag, err, notFound("no reply %d in this clinic", id)))
}

// SetAutoAnswered records that Aftercare answered a reply. ENOTFOUND.
func (db *DB) SetAutoAnswered(ctx context.Context, clinicID, id int64) error {
	tag, err := db.pool.Exec(ctx, setAutoAnswered, clinicID, id)
	return dbError("record an answer", oneRow(tag, err, notFound("no reply %d in this clinic", id)))
}

// MatchReply finds the clinic's patient with that phone and the SMS the
// reply answers. ENOTFOUND when no patient has the number.
func (db *DB) MatchReply(ctx context.Context, clinicID int64, phone string, before time.Time) (*aftercare.ReplyMatch, error) {
	if phone == "" {
		return nil, notFound("no patient has an empty number")
	}
	ids, err := queryAll(ctx, db.pool, func(s scanner) (int64, error) {
		var id int64
		return id, s.Scan(&id)
	}, patientsByPhone, clinicID, phone)
	if err != nil {
		return nil, dbError("match reply", err)
	}
	if len(ids) == 0 {
		return nil, notFound("no patient of this clinic has the number %s", aftercare.MaskPhone(phone))
	}
	m := &aftercare.ReplyMatch{}
	err = db.pool.QueryRow(ctx, latestSMSOf, clinicID, ids, db.stamp(before)).Scan(&m.PatientID, &m.EnrollmentID, &m.MessageID)
	if err == nil {
		return m, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, dbError("match reply", err)
	}
	err = db.pool.QueryRow(ctx, latestEnrollmentOf, clinicID, ids).Scan(&m.PatientID, &m.EnrollmentID)
	if errors.Is(err, pgx.ErrNoRows) { // a patient without enrollments (none are made so today)
		return &aftercare.ReplyMatch{PatientID: ids[0]}, nil
	}
	if err != nil {
		return nil, dbError("match reply", err)
	}
	return m, nil
}

// AddReplyMessage stores an answer to a reply as a message of the
// enrollment, claimed by owner when it is sent now.
func (db *DB) AddReplyMessage(ctx context.Context, m *aftercare.Message, owner string) error {
	if m == nil || m.Channel != aftercare.SMS || m.StepKey == "" || m.Body == "" {
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
	return db.write(ctx, "add an answer", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, enrollmentPatient, m.ClinicID, m.EnrollmentID).Scan(&m.PatientID)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("no enrollment %d in this clinic", m.EnrollmentID)
		} else if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, nextOccurrence, m.EnrollmentID, m.StepKey, string(m.Channel)).Scan(&m.Occurrence); err != nil {
			return err
		}
		textID, err := newTextWriter(tx).id(ctx, "", m.Body)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, insertReplyMsg, m.ClinicID, m.EnrollmentID, m.PatientID, m.StepKey, m.Occurrence,
			string(m.Channel), m.Lang, string(m.Status), m.SendAt, ts(m.ExpiresAt), m.Note, textID, m.Segments, m.Attempts,
			ts(m.NextAttemptAt), ts(m.ClaimedAt), m.ClaimedBy, now).Scan(&m.ID)
	})
}

// CountAnswers counts the patient's messages of those steps planned since.
func (db *DB) CountAnswers(ctx context.Context, clinicID, patientID int64, stepKeys []string, since time.Time) (int, error) {
	if len(stepKeys) == 0 {
		return 0, nil
	}
	var n int
	err := db.pool.QueryRow(ctx, countAnswers, clinicID, patientID, stepKeys, norm(since)).Scan(&n)
	return n, dbError("count answers", err)
}
