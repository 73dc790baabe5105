package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/check"
)

// DefaultListLimit is how many rows ListEnrollments and SearchPatients
// return when the caller gives no limit.
const DefaultListLimit = 50

const patientExists = `SELECT COUNT(*) FROM patients WHERE clinic_id = ? AND id = ?`

// searchPatients matches the name within the match key, which holds it
// lower-cased by Go (aftercare.Patient.MatchKey: name|phone|email), so that
// case is folded beyond ASCII, which SQLite's lower() and LIKE do not do.
// ?2 is the name query, ?3 the phone digits (empty for none), ?4 the email query.
const searchPatients = `SELECT ` + patientColumns + ` FROM patients
WHERE clinic_id = ?1 AND (
	instr(substr(match_key, 1, length(match_key) - length(phone) - length(email) - 2), ?2) > 0
	OR (?3 <> '' AND instr(phone, ?3) > 0)
	OR instr(email, ?4) > 0)
ORDER BY updated_at DESC, id DESC
LIMIT ?5`

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
	ps, err := queryAll(ctx, db.reader, scanPatient, searchPatients, clinicID, name, digits, email, limit)
	return ps, dbError("search patients", err)
}

const (
	otherPatientByKey = `SELECT id FROM patients WHERE clinic_id = ? AND match_key = ? AND id <> ?`
	savePatient       = `UPDATE patients SET match_key = ?, name = ?, phone = ?, email = ?, tz = ?, lang = ?,
	sms_consent_at = ?, sms_consent_source = ?, email_consent_at = ?, email_consent_source = ?,
	sms_opt_out_at = ?, email_opt_out_at = ?, updated_at = ?
WHERE clinic_id = ? AND id = ?
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
// events are recorded with the change (see recordConsent), each with p's
// clinic and id and At defaulting to now.
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
	err := db.write(ctx, "update patient", func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, patientExists, p.ClinicID, p.ID); err != nil {
			return err
		}
		if n == 0 {
			return notFound("no patient %d in this clinic", p.ID)
		}
		var other int64
		err := tx.GetContext(ctx, &other, otherPatientByKey, p.ClinicID, key, p.ID)
		if err == nil {
			return conflict("patient %d already has this name, phone and email: change one of them, or use patient %d", other, other)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := tx.QueryRowContext(ctx, savePatient, key, p.Name, p.Phone, p.Email, p.TZ, p.Lang,
			ts(p.SMSConsent.At), p.SMSConsent.Source, ts(p.EmailConsent.At), p.EmailConsent.Source,
			ts(p.SMSOptOutAt), ts(p.EmailOptOut), ts(now), p.ClinicID, p.ID).Scan(&created); err != nil {
			return err
		}
		for _, ev := range events {
			ev.ClinicID, ev.PatientID = p.ClinicID, p.ID
			if ev.At.IsZero() {
				ev.At = now
			}
			ev.At = norm(ev.At)
			if err := checkConsentEvent(ev); err != nil {
				return err
			}
			if err := recordConsent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = time.Time(created), now
	p.SMSConsent.At, p.EmailConsent.At = norm(p.SMSConsent.At), norm(p.EmailConsent.At)
	p.SMSOptOutAt, p.EmailOptOut = norm(p.SMSOptOutAt), norm(p.EmailOptOut)
	return nil
}

const patientColumns = `id, clinic_id, name, phone, email, tz, lang, sms_consent_at, sms_consent_source,
	email_consent_at, email_consent_source, sms_opt_out_at, email_opt_out_at, created_at, updated_at`

// patientDest appends the scan destinations of patientColumns in p to dst:
// the one list of a patient's columns, for every query that reads one
// (alone, with its match key, with its enrollment, with a claimed message).
func patientDest(dst []any, p *aftercare.Patient) []any {
	return append(dst, &p.ID, &p.ClinicID, &p.Name, &p.Phone, &p.Email, &p.TZ, &p.Lang,
		(*dbTime)(&p.SMSConsent.At), &p.SMSConsent.Source, (*dbTime)(&p.EmailConsent.At), &p.EmailConsent.Source,
		(*dbTime)(&p.SMSOptOutAt), (*dbTime)(&p.EmailOptOut), (*dbTime)(&p.CreatedAt), (*dbTime)(&p.UpdatedAt))
}

func scanPatient(s scanner) (*aftercare.Patient, error) {
	var p aftercare.Patient
	err := s.Scan(patientDest(make([]any, 0, 15), &p)...)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

const (
	findPatient           = `SELECT ` + patientColumns + ` FROM patients WHERE clinic_id = ? AND id = ?`
	findPatientByMatchKey = `SELECT ` + patientColumns + ` FROM patients WHERE clinic_id = ? AND match_key = ?`
)

// FindPatient returns the clinic's patient with that id. It returns
// ENOTFOUND when the clinic has no such patient.
func (db *DB) FindPatient(ctx context.Context, clinicID, id int64) (*aftercare.Patient, error) {
	p, err := scanPatient(db.reader.QueryRowContext(ctx, findPatient, clinicID, id))
	return found(p, err, "find patient", "no patient %d in this clinic", id)
}

// FindPatientByMatchKey returns the clinic's patient whose
// aftercare.Patient.MatchKey is key. It returns ENOTFOUND when there is none.
func (db *DB) FindPatientByMatchKey(ctx context.Context, clinicID int64, key string) (*aftercare.Patient, error) {
	p, err := scanPatient(db.reader.QueryRowContext(ctx, findPatientByMatchKey, clinicID, key))
	return found(p, err, "find patient", "no such patient in this clinic")
}

// FindPatientsByMatchKey returns the clinic's patients whose
// aftercare.Patient.MatchKey is one of keys, by MatchKey, with a few IN (...)
// queries however many keys there are; keys of no patient are absent.
func (db *DB) FindPatientsByMatchKey(ctx context.Context, clinicID int64, keys []string) (map[string]*aftercare.Patient, error) {
	found := make(map[string]*aftercare.Patient)
	err := chunks(dedupe(keys), func(keys []string) error {
		return eachRowIn(ctx, db.reader, func(rows *sqlx.Rows) error {
			p, mk, err := scanPatientMK(rows)
			if err == nil {
				found[mk] = p
			}
			return err
		}, batchPatientsMK, clinicID, keys)
	})
	if err != nil {
		return nil, dbError("find patients", err)
	}
	return found, nil
}

// scanPatientMK scans patientColumns and match_key.
func scanPatientMK(s scanner) (*aftercare.Patient, string, error) {
	var p aftercare.Patient
	var mk string
	err := s.Scan(append(patientDest(make([]any, 0, 16), &p), &mk)...)
	if err != nil {
		return nil, "", err
	}
	return &p, mk, nil
}
