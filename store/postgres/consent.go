package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.ConsentStore = (*DB)(nil)

const (
	selectConsentEvents = `SELECT id, clinic_id, patient_id, channel, action, at, source, user_id, note
	FROM consent_events WHERE clinic_id = $1 AND patient_id = $2 ORDER BY id`
	// patientConsentState locks the patient: two changes of its consent go
	// one after the other, each seeing the state the other left.
	patientConsentState = `SELECT sms_consent_at, sms_opt_out_at, email_consent_at, email_opt_out_at
	FROM patients WHERE clinic_id = $1 AND id = $2 FOR UPDATE`
	// cancelPatientChannel reaches every pending message of the patient
	// once those kept on its enrollments are rows (thawPatient).
	cancelPatientChannel = `UPDATE messages SET status = 'cancelled',
	note = CASE WHEN note = '' THEN $1 ELSE note || '; ' || $1 END, updated_at = $2
	WHERE clinic_id = $3 AND patient_id = $4 AND channel = $5 AND status = 'pending'`
	optOutChannel = `UPDATE patients SET %[1]s_opt_out_at = $1, updated_at = $1 WHERE clinic_id = $2 AND id = $3`
	optInChannel  = `UPDATE patients SET %[1]s_opt_out_at = NULL, %[1]s_consent_at = $1, %[1]s_consent_source = $2,
	updated_at = $1 WHERE clinic_id = $3 AND id = $4`
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
	err := db.write(ctx, "set consent", func(tx pgx.Tx) error {
		changed = false
		var smsAt, smsOut, emailAt, emailOut dbTime
		err := tx.QueryRow(ctx, patientConsentState, ev.ClinicID, ev.PatientID).Scan(&smsAt, &smsOut, &emailAt, &emailOut)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("no patient %d in this clinic", ev.PatientID)
		} else if err != nil {
			return err
		}
		given, out := smsAt, smsOut
		if ev.Channel == aftercare.Email {
			given, out = emailAt, emailOut
		}
		if err := recordPatientConsent(ctx, tx, ev); err != nil {
			return err
		}
		switch ev.Action {
		case aftercare.ConsentWithdrawn:
			if !timeOf(out).IsZero() {
				return nil
			}
			changed = true
			if _, err := tx.Exec(ctx, fmt.Sprintf(optOutChannel, col), ev.At, ev.ClinicID, ev.PatientID); err != nil {
				return err
			}
			// Messages kept on the patient's enrollments (plan.go) become
			// rows first, so that the cancel reaches them too.
			if err := thawPatient(ctx, tx, ev.ClinicID, ev.PatientID); err != nil {
				return err
			}
			note := fmt.Sprintf("cancelled: the patient opted out of %s (%s)", ev.Channel, ev.Source)
			_, err = tx.Exec(ctx, cancelPatientChannel, note, ev.At, ev.ClinicID, ev.PatientID, string(ev.Channel))
			return err
		default:
			if timeOf(out).IsZero() && !timeOf(given).IsZero() {
				return nil
			}
			changed = true
			_, err := tx.Exec(ctx, fmt.Sprintf(optInChannel, col), ev.At, ev.Source, ev.ClinicID, ev.PatientID)
			return err
		}
	})
	return changed, err
}

// checkConsentEvent refuses an event the schema would refuse, saying why.
func checkConsentEvent(ev *aftercare.ConsentEvent) error {
	switch {
	case ev == nil:
		return invalid("no consent event given")
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
	out, err := queryAll(ctx, db.pool, func(s scanner) (*aftercare.ConsentEvent, error) {
		e := &aftercare.ConsentEvent{}
		return e, s.Scan(&e.ID, &e.ClinicID, &e.PatientID, &e.Channel, &e.Action, (*dbTime)(&e.At), &e.Source, &e.UserID, &e.Note)
	}, selectConsentEvents, clinicID, patientID)
	return out, dbError("list consent events", err)
}

const messagePatient = `SELECT patient_id FROM messages WHERE id = $1`

// recordProviderOptOut records, in the consent history, the opt-out a
// provider reported for message o (Twilio's 21610: the number texted STOP
// to the sender).
func recordProviderOptOut(ctx context.Context, tx pgx.Tx, o *aftercare.Outcome, ch aftercare.Channel, at time.Time) error {
	var patientID int64
	if err := tx.QueryRow(ctx, messagePatient, o.MessageID).Scan(&patientID); err != nil {
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
	return recordPatientConsent(ctx, tx, &aftercare.ConsentEvent{ClinicID: o.ClinicID, PatientID: patientID, Channel: ch,
		Action: aftercare.ConsentWithdrawn, At: at, Source: source})
}

const optedOut = `SELECT sms_opt_out_at IS NOT NULL, email_opt_out_at IS NOT NULL FROM patients WHERE clinic_id = $1 AND id = $2`

// OptedOut reports whether the patient opted out of ch: one read by
// primary key, cheap enough to ask before every send.
func (db *DB) OptedOut(ctx context.Context, clinicID, patientID int64, ch aftercare.Channel) (bool, error) {
	var sms, email bool
	err := db.pool.QueryRow(ctx, optedOut, clinicID, patientID).Scan(&sms, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, notFound("no patient %d in this clinic", patientID)
	} else if err != nil {
		return false, dbError("opted out", err)
	}
	if ch == aftercare.Email {
		return email, nil
	}
	return sms, nil
}

const optedOutMany = `SELECT id, clinic_id, sms_opt_out_at IS NOT NULL, email_opt_out_at IS NOT NULL
	FROM patients WHERE id = ANY($1)`

// OptedOutMany is OptedOut for many patients in one read (the
// dispatcher's check before each send, grouped): out[i] reports whether
// patient patientIDs[i] of clinic clinicIDs[i] opted out of chs[i].
// ENOTFOUND if one of them is not a patient of its clinic; EINVALID if
// the three lists differ in length.
func (db *DB) OptedOutMany(ctx context.Context, clinicIDs, patientIDs []int64, chs []aftercare.Channel) ([]bool, error) {
	if err := check.OptOutLists(clinicIDs, patientIDs, chs); err != nil {
		return nil, err
	}
	if len(patientIDs) == 0 {
		return nil, nil
	}
	got := make(map[int64]check.OptOutState, len(patientIDs))
	err := eachRow(ctx, db.pool, func(rows pgx.Rows) error {
		var id int64
		var s check.OptOutState
		if err := rows.Scan(&id, &s.Clinic, &s.SMS, &s.Email); err != nil {
			return err
		}
		got[id] = s
		return nil
	}, optedOutMany, dedupe(patientIDs))
	if err != nil {
		return nil, dbError("opted out", err)
	}
	return check.OptedOut(got, clinicIDs, patientIDs, chs)
}
