package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
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
	rows, err := db.reader.QueryxContext(ctx, selectConsentEvents, clinicID, patientID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*aftercare.ConsentEvent
	for rows.Next() {
		e := &aftercare.ConsentEvent{}
		if err := rows.Scan(&e.ID, &e.ClinicID, &e.PatientID, &e.Channel, &e.Action, (*dbTime)(&e.At), &e.Source, &e.UserID, &e.Note); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

var _ aftercare.SecretStore = (*DB)(nil)

// Secret returns the secret stored under name, storing gen() first when
// there is none.
func (db *DB) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	var v []byte
	err := db.write(ctx, "secret", func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &v, `SELECT value FROM secrets WHERE name = ?`, name)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = gen()
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)`, name, v)
		return err
	})
	return v, err
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
