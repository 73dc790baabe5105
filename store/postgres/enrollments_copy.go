package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare/store/internal/check"
)

// The columns EnrollBatch copies into each table.
var (
	patientCopyColumns = []string{"id", "clinic_id", "match_key", "name", "phone", "email", "tz", "lang",
		"sms_consent_at", "sms_consent_source", "email_consent_at", "email_consent_source",
		"sms_opt_out_at", "email_opt_out_at", "created_at", "updated_at"}
	consentCopyColumns    = []string{"clinic_id", "patient_id", "channel", "action", "at", "source", "user_id"}
	enrollmentCopyColumns = []string{"id", "clinic_id", "patient_id", "protocol_id", "treated_at", "status",
		"idem_key", "source", "created_at", "updated_at", "planned", "planned_next"}
	textCopyColumns    = []string{"id", "subject", "body"}
	messageCopyColumns = []string{"id", "clinic_id", "enrollment_id", "patient_id", "step_key", "occurrence",
		"channel", "lang", "status", "send_at", "expires_at", "note", "text_id", "segments",
		"next_attempt_at", "created_at", "updated_at"}
)

const updateMergedPatient = `UPDATE patients SET tz = $1, lang = $2, sms_consent_at = $3, sms_consent_source = $4,
	email_consent_at = $5, email_consent_source = $6, sms_opt_out_at = $7, email_opt_out_at = $8, updated_at = $9
WHERE id = $10`

// write stores what decide decided, parents first for the foreign keys:
// patients (new, then changed), consent events, then the enrollments (with
// the messages kept on them), the texts and the other messages. Each
// table's new rows go in one COPY, which PostgreSQL loads several times
// faster than INSERTs of the same rows.
func (b *enrollBatch) write(ctx context.Context, tx pgx.Tx) error {
	now := b.now
	err := copyRows(ctx, tx, "patients", patientCopyColumns, len(b.newPatients), func(i int) []any {
		p := &b.newPatients[i].p
		return []any{p.ID, p.ClinicID, p.MatchKey(), p.Name, p.Phone, p.Email, p.TZ, p.Lang,
			ts(p.SMSConsent.At), p.SMSConsent.Source, ts(p.EmailConsent.At), p.EmailConsent.Source,
			ts(p.SMSOptOutAt), ts(p.EmailOptOut), now, now}
	})
	if err != nil {
		return err
	}
	if len(b.dirtyPatients) > 0 {
		var batch pgx.Batch
		for _, st := range b.dirtyPatients {
			p := &st.p
			batch.Queue(updateMergedPatient, p.TZ, p.Lang, ts(p.SMSConsent.At), p.SMSConsent.Source,
				ts(p.EmailConsent.At), p.EmailConsent.Source, ts(p.SMSOptOutAt), ts(p.EmailOptOut), p.UpdatedAt, p.ID)
		}
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return err
		}
	}
	err = copyRows(ctx, tx, "consent_events", consentCopyColumns, len(b.consents), func(i int) []any {
		return b.consents[i].values()
	})
	if err != nil {
		return err
	}
	err = copyRows(ctx, tx, "enrollments", enrollmentCopyColumns, len(b.newEnrollments), func(i int) []any {
		it := b.newEnrollments[i]
		e := it.enroll
		planned, next := plannedColumns(b.kept[it]) // in send time order, as b.rows
		return []any{e.ID, e.ClinicID, e.PatientID, e.ProtocolID, e.TreatedAt, e.Status, e.Key, e.Source, now, now,
			planned, next}
	})
	if err != nil {
		return err
	}
	err = copyRows(ctx, tx, "message_texts", textCopyColumns, len(b.texts), func(i int) []any {
		k := b.texts[i]
		return []any{b.textIDs[i], k.subject, k.body}
	})
	if err != nil {
		return err
	}
	row := make([]any, len(messageCopyColumns))
	return copyRows(ctx, tx, "messages", messageCopyColumns, len(b.near), func(i int) []any {
		pm := b.near[i]
		e, m := pm.it.enroll, pm.it.ne.Messages[pm.k]
		send, expires, next := check.PlannedTimes(m)
		// pgx encodes a row before it asks for the next: one slice serves all.
		row[0], row[1], row[2], row[3] = pm.it.msgIDs[pm.k], e.ClinicID, e.ID, e.PatientID
		row[4], row[5], row[6], row[7] = m.StepKey, int32(m.Occurrence), string(m.Channel), m.Lang
		row[8], row[9], row[10], row[11] = string(m.Status), send, ts(expires), m.Note
		row[12], row[13], row[14] = b.textIDs[pm.text], int32(m.Segments), ts(next)
		row[15], row[16] = now, now
		return row
	})
}

// copyRows copies n rows, row(i) giving the values of columns for row i,
// into table with COPY; nothing for n = 0.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return row(i), nil
	}))
	return err
}
