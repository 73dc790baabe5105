package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.ConsentStore = (*DB)(nil)

const (
	insertConsentEvent = `INSERT INTO consent_events (clinic_id, patient_id, channel, action, at, source, user_id, note)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	selectConsentEvents = `SELECT id, clinic_id, patient_id, channel, action, at, source, user_id, note
	FROM consent_events WHERE clinic_id = ? AND patient_id = ? ORDER BY id`
	patientConsentState = `SELECT sms_consent_at, sms_opt_out_at, email_consent_at, email_opt_out_at
	FROM patients WHERE clinic_id = ? AND id = ?`
	cancelPatientChannel = `UPDATE messages SET status = 'cancelled',
	note = CASE WHEN note = '' THEN ? ELSE note || '; ' || ? END, updated_at = ?
	WHERE clinic_id = ? AND patient_id = ? AND channel = ? AND status = 'pending'`
)

// SetConsent records ev and applies it to the patient (see
// aftercare.ConsentStore).
func (db *DB) SetConsent(ctx context.Context, ev *aftercare.ConsentEvent) (bool, error) {
	if err := checkConsentEvent(ev); err != nil {
		return false, err
	}
	ev.At = db.stamp(ev.At)
	col := map[aftercare.Channel]string{aftercare.SMS: "sms", aftercare.Email: "email"}[ev.Channel]
	changed := false
	err := db.write(ctx, "set consent", func(tx *sqlx.Tx) error {
		var smsAt, smsOut, emailAt, emailOut dbTime
		err := tx.QueryRowxContext(ctx, patientConsentState, ev.ClinicID, ev.PatientID).Scan(&smsAt, &smsOut, &emailAt, &emailOut)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no patient %d in this clinic", ev.PatientID)
		} else if err != nil {
			return err
		}
		given, out := smsAt, smsOut
		if ev.Channel == aftercare.Email {
			given, out = emailAt, emailOut
		}
		if err := recordConsent(ctx, tx, ev); err != nil {
			return err
		}
		switch ev.Action {
		case aftercare.ConsentWithdrawn:
			if !time.Time(out).IsZero() {
				return nil
			}
			changed = true
			if _, err := tx.ExecContext(ctx, `UPDATE patients SET `+col+`_opt_out_at = ?, updated_at = ? WHERE clinic_id = ? AND id = ?`,
				ts(ev.At), ts(ev.At), ev.ClinicID, ev.PatientID); err != nil {
				return err
			}
			// Messages kept on the patient's enrollments become rows first,
			// so that the cancel reaches them too.
			os, err := owners(ctx, tx, ownersOfPatient, ev.ClinicID, ev.PatientID)
			if err != nil {
				return err
			}
			if _, err := thaw(ctx, tx, os, time.Time{}); err != nil {
				return err
			}
			note := fmt.Sprintf("cancelled: the patient opted out of %s (%s)", ev.Channel, ev.Source)
			_, err = tx.ExecContext(ctx, cancelPatientChannel, note, note, ts(ev.At), ev.ClinicID, ev.PatientID, string(ev.Channel))
			return err
		default:
			if time.Time(out).IsZero() && !time.Time(given).IsZero() {
				return nil
			}
			changed = true
			_, err := tx.ExecContext(ctx, `UPDATE patients SET `+col+`_opt_out_at = NULL, `+col+`_consent_at = ?, `+col+`_consent_source = ?,
				updated_at = ? WHERE clinic_id = ? AND id = ?`, ts(ev.At), ev.Source, ts(ev.At), ev.ClinicID, ev.PatientID)
			return err
		}
	})
	return changed, err
}

// checkConsentEvent refuses an event the schema would refuse, saying why.
func checkConsentEvent(ev *aftercare.ConsentEvent) error {
	switch {
	case ev.Channel != aftercare.SMS && ev.Channel != aftercare.Email:
		return invalid("unknown channel %q", ev.Channel)
	case ev.Action != aftercare.ConsentGiven && ev.Action != aftercare.ConsentWithdrawn:
		return invalid("unknown consent action %q", ev.Action)
	case ev.Source == "":
		return invalid("a consent event needs a source")
	}
	return nil
}

// ListConsentEvents returns a patient's consent history, oldest first.
func (db *DB) ListConsentEvents(ctx context.Context, clinicID, patientID int64) ([]*aftercare.ConsentEvent, error) {
	return queryAll(ctx, db.reader, func(s scanner) (*aftercare.ConsentEvent, error) {
		e := &aftercare.ConsentEvent{}
		return e, s.Scan(&e.ID, &e.ClinicID, &e.PatientID, &e.Channel, &e.Action, (*dbTime)(&e.At), &e.Source, &e.UserID, &e.Note)
	}, selectConsentEvents, clinicID, patientID)
}

// recordProviderOptOut records, in the consent history, the opt-out a
// provider reported for message o (Twilio's 21610: the number texted STOP
// to the sender).
func recordProviderOptOut(ctx context.Context, tx *sqlx.Tx, o *aftercare.Outcome, ch aftercare.Channel, at time.Time) error {
	var patientID int64
	if err := tx.GetContext(ctx, &patientID, `SELECT patient_id FROM messages WHERE id = ?`, o.MessageID); err != nil {
		return err
	}
	code := o.ErrorCode
	if code == "" {
		code = "opt-out"
	}
	source := "twilio:" + code
	if ch == aftercare.Email {
		source = "email:" + code
	}
	return recordConsent(ctx, tx, &aftercare.ConsentEvent{ClinicID: o.ClinicID, PatientID: patientID, Channel: ch,
		Action: aftercare.ConsentWithdrawn, At: at, Source: source})
}

const optedOut = `SELECT sms_opt_out_at IS NOT NULL, email_opt_out_at IS NOT NULL FROM patients WHERE clinic_id = ? AND id = ?`

// OptedOut reports whether the patient opted out of ch: one read by
// primary key, cheap enough to ask before every send.
func (db *DB) OptedOut(ctx context.Context, clinicID, patientID int64, ch aftercare.Channel) (bool, error) {
	var sms, email bool
	err := db.reader.QueryRowxContext(ctx, optedOut, clinicID, patientID).Scan(&sms, &email)
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound("no patient %d in this clinic", patientID)
	} else if err != nil {
		return false, err
	}
	if ch == aftercare.Email {
		return email, nil
	}
	return sms, nil
}

// recordConsent inserts a consent event and its audit entry inside tx: the
// history and the log are written with the change they record.
func recordConsent(ctx context.Context, tx *sqlx.Tx, ev *aftercare.ConsentEvent) error {
	if err := tx.QueryRowxContext(ctx, insertConsentEvent, ev.ClinicID, ev.PatientID, string(ev.Channel), string(ev.Action),
		ts(ev.At), ev.Source, ev.UserID, ev.Note).Scan(&ev.ID); err != nil {
		return err
	}
	return execAudit(ctx, tx, consentAudit(ev))
}

// consentAudit is the audit entry of a consent event. The note (a
// patient's reply) stays out of it: the log holds no message text.
func consentAudit(ev *aftercare.ConsentEvent) *aftercare.AuditEntry {
	return &aftercare.AuditEntry{
		ClinicID: ev.ClinicID, UserID: ev.UserID, Actor: ev.Source, Action: aftercare.AuditConsent,
		Subject: fmt.Sprintf("patient %d", ev.PatientID), Detail: fmt.Sprintf("%s %s", ev.Channel, ev.Action), At: ev.At,
	}
}

// OptedOutMany is OptedOut for many patients in one read (the
// dispatcher's check before each send, grouped): out[i] reports whether
// patient patientIDs[i] of clinic clinicIDs[i] opted out of chs[i].
// ENOTFOUND if one of them is not a patient of its clinic.
func (db *DB) OptedOutMany(ctx context.Context, clinicIDs, patientIDs []int64, chs []aftercare.Channel) ([]bool, error) {
	if err := check.OptOutLists(clinicIDs, patientIDs, chs); err != nil {
		return nil, err
	}
	if len(patientIDs) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT id, clinic_id, sms_opt_out_at IS NOT NULL, email_opt_out_at IS NOT NULL FROM patients WHERE id IN (?)`, patientIDs)
	if err != nil {
		return nil, err
	}
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[int64]check.OptOutState, len(patientIDs))
	for rows.Next() {
		var id int64
		var s check.OptOutState
		if err := rows.Scan(&id, &s.Clinic, &s.SMS, &s.Email); err != nil {
			return nil, err
		}
		got[id] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return check.OptedOut(got, clinicIDs, patientIDs, chs)
}
