package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

var _ aftercare.MessageStore = (*DB)(nil)

// ListMessages returns the messages matching f ordered by SendAt, then ID.
// Pass the last message's SendAt and ID as f.AfterSendAt and f.AfterID to
// read the next page. It returns EINVALID when f.ClinicID is 0, f.Limit is
// negative, or a status or the channel is unknown.
//
// One enrollment's or one patient's messages (f.EnrollmentID or
// f.PatientID set) include those kept on their enrollments (plan.go); the
// clinic's log lists rows only, so it shows a far-ahead message once it is
// within plan.Horizon of the dispatcher's clock (the contract allows it).
func (db *DB) ListMessages(ctx context.Context, f aftercare.MessageFilter) ([]*aftercare.Message, error) {
	q, args, err := messageQuery(f)
	if err != nil {
		return nil, err
	}
	if f.EnrollmentID == 0 && f.PatientID == 0 {
		ms, err := queryAll(ctx, db.pool, scanMessage, q, args...)
		return ms, dbError("list messages", err)
	}
	// Rows and kept messages from one snapshot, so that a message a claim
	// thaws meanwhile is listed once.
	var ms []*aftercare.Message
	err = pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if ms, err = queryAll(ctx, tx, scanMessage, q, args...); err != nil {
			return err
		}
		kept, slugs, err := keptMessages(ctx, tx, f.ClinicID, f.EnrollmentID, f.PatientID)
		if err != nil {
			return err
		}
		ms = plan.Merge(ms, kept, slugs, f)
		return nil
	})
	if err != nil {
		return nil, dbError("list messages", err)
	}
	return ms, nil
}

// messageQuery is ListMessages' query for f and its arguments. One
// patient's messages are found through enrollments_patient and the
// messages' natural key (enrollment_id, ...), as on SQLite: there is no
// index of messages by patient for an import to pay for.
func messageQuery(f aftercare.MessageFilter) (string, []any, error) {
	if f.ClinicID == 0 {
		return "", nil, invalid("listing messages needs a clinic")
	}
	if f.Limit < 0 {
		return "", nil, aftercare.FieldErrorf("limit", "the limit must not be negative, got %d", f.Limit)
	}
	if f.Channel != "" && f.Channel != aftercare.SMS && f.Channel != aftercare.Email {
		return "", nil, aftercare.FieldErrorf("channel", "unknown channel %q: use sms or email", f.Channel)
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + messageColumns + ` FROM messages m` + messageText)
	if f.ProtocolSlug != "" {
		q.WriteString(` JOIN enrollments e ON e.id = m.enrollment_id JOIN protocols p ON p.id = e.protocol_id`)
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	q.WriteString(` WHERE m.clinic_id = ` + arg(f.ClinicID))
	and := func(cond string) { q.WriteString(" AND " + cond) }
	if f.EnrollmentID != 0 {
		and(`m.enrollment_id = ` + arg(f.EnrollmentID))
	}
	if f.PatientID != 0 {
		pid := arg(f.PatientID)
		and(`m.patient_id = ` + pid + ` AND m.enrollment_id IN (SELECT pe.id FROM enrollments pe WHERE pe.clinic_id = $1 AND pe.patient_id = ` + pid + `)`)
	}
	if len(f.Statuses) > 0 {
		sts := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			if !s.Valid() {
				return "", nil, aftercare.FieldErrorf("status", "unknown status %q: use one of %v", s, aftercare.Statuses)
			}
			sts[i] = string(s)
		}
		and(`m.status = ANY(` + arg(sts) + `)`)
	}
	if f.Channel != "" {
		and(`m.channel = ` + arg(string(f.Channel)))
	}
	if f.ProtocolSlug != "" {
		and(`p.slug = ` + arg(f.ProtocolSlug))
	}
	if !f.Since.IsZero() {
		and(`m.send_at >= ` + arg(norm(f.Since)))
	}
	if !f.Until.IsZero() {
		and(`m.send_at < ` + arg(norm(f.Until)))
	}
	if !f.AfterSendAt.IsZero() || f.AfterID != 0 {
		and(`(m.send_at, m.id) > (` + arg(norm(f.AfterSendAt)) + `, ` + arg(f.AfterID) + `)`)
	}
	q.WriteString(` ORDER BY m.send_at, m.id`)
	if f.Limit > 0 {
		q.WriteString(` LIMIT ` + arg(f.Limit))
	}
	return q.String(), args, nil
}
