package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

var _ aftercare.PatientStore = (*DB)(nil)

// DefaultListLimit is how many rows ListEnrollments and SearchPatients
// return when the caller gives no limit.
const DefaultListLimit = 50

// lockPatient reads the clinic's patient row for update: it tells "no such
// patient" from other failures, and serialises writers of one patient.
const lockPatient = `SELECT 1 FROM patients WHERE clinic_id = $1 AND id = $2 FOR UPDATE`

// searchPatients matches the name within the match key, which holds it
// lower-cased by Go (aftercare.Patient.MatchKey: name|phone|email), so that
// case is folded as on SQLite, whatever the database's collation. $2 is the
// name query, $3 the phone digits (empty for none), $4 the email query.
// strpos, not LIKE: a query's % and _ are plain characters.
const searchPatients = `SELECT ` + patientColumns + ` FROM patients
WHERE clinic_id = $1 AND (
	strpos(left(match_key, length(match_key) - length(phone) - length(email) - 2), $2) > 0
	OR ($3 <> '' AND strpos(phone, $3) > 0)
	OR strpos(email, $4) > 0)
ORDER BY updated_at DESC, id DESC
LIMIT $5`

// SearchPatients returns the clinic's patients whose name contains q (case
// and runs of spaces ignored), whose phone contains q's digits when q has
// at least three, or whose email contains q (case ignored), most recently
// updated first, at most limit (0: DefaultListLimit). An empty q matches
// every patient. It returns EINVALID for a negative limit.
func (db *DB) SearchPatients(ctx context.Context, clinicID int64, q string, limit int) ([]*aftercare.Patient, error) {
	limit, err := check.PageLimit(limit, DefaultListLimit)
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(strings.Join(strings.Fields(q), " "))
	email := strings.ToLower(strings.TrimSpace(q))
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q)
	if len(digits) < 3 {
		digits = ""
	}
	ps, err := queryAll(ctx, db.pool, scanPatient, searchPatients, clinicID, name, digits, email, limit)
	return ps, dbError("search patients", err)
}

const (
	otherPatientByKey = `SELECT id FROM patients WHERE clinic_id = $1 AND match_key = $2 AND id <> $3`
	savePatient       = `UPDATE patients SET match_key = $1, name = $2, phone = $3, email = $4, tz = $5, lang = $6,
	sms_consent_at = $7, sms_consent_source = $8, email_consent_at = $9, email_consent_source = $10,
	sms_opt_out_at = $11, email_opt_out_at = $12, updated_at = $13
WHERE clinic_id = $14 AND id = $15
RETURNING created_at`
)

// UpdatePatient saves p's Name, Phone, Email, TZ, Lang, consents and
// opt-outs (p is found by ClinicID and ID), recomputes its match key and
// sets UpdatedAt, and CreatedAt from the stored row. The store checks only
// that name, zone and language are present; what they hold is the caller's
// to validate. It returns EINVALID for a missing one, ENOTFOUND when the
// clinic has no such patient, and ECONFLICT when another patient of the
// clinic has the same name, phone and email.
//
// events are recorded with the change, each with p's clinic and id and At
// defaulting to now, with an audit entry each.
func (db *DB) UpdatePatient(ctx context.Context, p *aftercare.Patient, events ...*aftercare.ConsentEvent) error {
	switch {
	case p == nil:
		return invalid("no patient given")
	case strings.TrimSpace(p.Name) == "":
		return aftercare.FieldErrorf("name", "the patient's name is required")
	case p.TZ == "":
		return aftercare.FieldErrorf("tz", "the patient's time zone is required")
	case p.Lang == "":
		return aftercare.FieldErrorf("lang", "the patient's language is required")
	}
	now := db.now()
	key := p.MatchKey()
	var created dbTime
	err := db.write(ctx, "update patient", func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, lockPatient, p.ClinicID, p.ID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("no patient %d in this clinic", p.ID)
		}
		if err != nil {
			return err
		}
		var other int64
		err = tx.QueryRow(ctx, otherPatientByKey, p.ClinicID, key, p.ID).Scan(&other)
		if err == nil {
			return conflict("patient %d already has this name, phone and email: change one of them, or use patient %d", other, other)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, savePatient, key, p.Name, p.Phone, p.Email, p.TZ, p.Lang,
			ts(p.SMSConsent.At), p.SMSConsent.Source, ts(p.EmailConsent.At), p.EmailConsent.Source,
			ts(p.SMSOptOutAt), ts(p.EmailOptOut), now, p.ClinicID, p.ID).Scan(&created); err != nil {
			return err
		}
		for _, ev := range events {
			ev.ClinicID, ev.PatientID = p.ClinicID, p.ID
			if ev.At.IsZero() {
				ev.At = now
			}
			ev.At = norm(ev.At)
			if err := recordPatientConsent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = timeOf(created), now
	p.SMSConsent.At, p.EmailConsent.At = norm(p.SMSConsent.At), norm(p.EmailConsent.At)
	p.SMSOptOutAt, p.EmailOptOut = norm(p.SMSOptOutAt), norm(p.EmailOptOut)
	return nil
}

const (
	insertPatientConsent = `INSERT INTO consent_events (clinic_id, patient_id, channel, action, at, source, user_id, note)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`
	insertPatientConsentAudit = `INSERT INTO audit (clinic_id, user_id, actor, action, subject, detail, at)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`
)

// recordPatientConsent inserts a consent event that an UpdatePatient
// records, and its audit entry, inside tx: the history and the log are
// written with the change they record. (The same rows as consent.go's
// SetConsent writes, kept here so that the patient's file does not depend
// on the consent store's; the note, a patient's reply, stays out of the
// audit log, which holds no message text.)
func recordPatientConsent(ctx context.Context, tx pgx.Tx, ev *aftercare.ConsentEvent) error {
	switch {
	case ev.Channel != aftercare.SMS && ev.Channel != aftercare.Email:
		return invalid("unknown channel %q", ev.Channel)
	case ev.Action != aftercare.ConsentGiven && ev.Action != aftercare.ConsentWithdrawn:
		return invalid("unknown consent action %q", ev.Action)
	case ev.Source == "":
		return invalid("a consent event needs a source")
	}
	if err := tx.QueryRow(ctx, insertPatientConsent, ev.ClinicID, ev.PatientID, string(ev.Channel), string(ev.Action),
		ev.At, ev.Source, ev.UserID, ev.Note).Scan(&ev.ID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, insertPatientConsentAudit, ev.ClinicID, ev.UserID, ev.Source, aftercare.AuditConsent,
		fmt.Sprintf("patient %d", ev.PatientID), fmt.Sprintf("%s %s", ev.Channel, ev.Action), ev.At)
	return err
}

const (
	findPatient           = `SELECT ` + patientColumns + ` FROM patients WHERE clinic_id = $1 AND id = $2`
	findPatientByMatchKey = `SELECT ` + patientColumns + ` FROM patients WHERE clinic_id = $1 AND match_key = $2`
	findPatientsByMK      = `SELECT ` + patientColumns + `, match_key FROM patients WHERE clinic_id = $1 AND match_key = ANY($2)`
)

// FindPatient returns the clinic's patient with that id. It returns
// ENOTFOUND when the clinic has no such patient.
func (db *DB) FindPatient(ctx context.Context, clinicID, id int64) (*aftercare.Patient, error) {
	p, err := scanPatient(db.pool.QueryRow(ctx, findPatient, clinicID, id))
	return found(p, err, "find patient", "no patient %d in this clinic", id)
}

// FindPatientByMatchKey returns the clinic's patient whose
// aftercare.Patient.MatchKey is key. It returns ENOTFOUND when there is none.
func (db *DB) FindPatientByMatchKey(ctx context.Context, clinicID int64, key string) (*aftercare.Patient, error) {
	p, err := scanPatient(db.pool.QueryRow(ctx, findPatientByMatchKey, clinicID, key))
	return found(p, err, "find patient", "no such patient in this clinic")
}

// FindPatientsByMatchKey returns the clinic's patients whose
// aftercare.Patient.MatchKey is one of keys, by MatchKey, with one query
// however many keys there are; keys of no patient are absent.
func (db *DB) FindPatientsByMatchKey(ctx context.Context, clinicID int64, keys []string) (map[string]*aftercare.Patient, error) {
	out := make(map[string]*aftercare.Patient)
	err := eachRow(ctx, db.pool, func(rows pgx.Rows) error {
		p, mk, err := scanPatientMK(rows)
		if err == nil {
			out[mk] = p
		}
		return err
	}, findPatientsByMK, clinicID, dedupe(keys))
	if err != nil {
		return nil, dbError("find patients", err)
	}
	return out, nil
}

// scanPatientMK scans patientColumns and match_key.
func scanPatientMK(s scanner) (*aftercare.Patient, string, error) {
	var p aftercare.Patient
	var mk string
	if err := s.Scan(append(patientDest(make([]any, 0, 16), &p), &mk)...); err != nil {
		return nil, "", err
	}
	return &p, mk, nil
}
