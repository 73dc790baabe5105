package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
)

// DefaultListLimit is how many rows ListEnrollments and SearchPatients
// return when the caller gives no limit.
const DefaultListLimit = 50

// listEnrollments reads one page of the clinic's enrollments (the inner
// query walks enrollments' (clinic_id, id) index, or enrollments_patient
// for one patient, newest first, and stops at the limit) and then, for that
// page only, their protocols, patients and the counts of their messages
// (found through messages' (enrollment_id, ...) key), with the messages
// kept on them (plan.go), which are pending and later than any pending row.
// %s is the inner
// query's extra conditions.
const listEnrollments = `SELECT e.id, e.clinic_id, e.patient_id, e.protocol_id, p.slug, p.version, e.treated_at,
	e.status, e.idem_key, e.source, e.created_at, e.updated_at, e.cancelled_at,
	pt.id, pt.clinic_id, pt.name, pt.phone, pt.email, pt.tz, pt.lang, pt.sms_consent_at, pt.sms_consent_source,
	pt.email_consent_at, pt.email_consent_source, pt.sms_opt_out_at, pt.email_opt_out_at, pt.created_at, pt.updated_at,
	COALESCE(SUM(m.status IN ('pending', 'sending')), 0),
	COALESCE(SUM(m.status IN ('sent', 'delivered')), 0),
	COALESCE(SUM(m.status IN ('failed', 'undelivered', 'unknown', 'expired')), 0),
	MIN(CASE WHEN m.status = 'pending' THEN m.send_at END), e.planned, e.planned_next
FROM (SELECT id FROM enrollments WHERE clinic_id = ?%s ORDER BY id DESC LIMIT ?) page
JOIN enrollments e ON e.id = page.id
JOIN protocols p ON p.id = e.protocol_id
JOIN patients pt ON pt.id = e.patient_id
LEFT JOIN messages m ON m.enrollment_id = e.id
GROUP BY e.id
ORDER BY e.id DESC`

const patientExists = `SELECT COUNT(*) FROM patients WHERE clinic_id = ? AND id = ?`

// ListEnrollments returns the enrollments matching f, newest (highest ID)
// first, each with its patient and the counts of its messages: Pending
// (pending or sending), Done (sent or delivered), Problems (failed,
// undelivered, unknown or expired) and NextSendAt, the earliest send time
// of a pending message. Pass the last row's ID as f.BeforeID for the next
// page. It returns EINVALID when f.ClinicID is 0 or f.Limit is negative,
// and ENOTFOUND when f.PatientID is not one of the clinic's patients.
func (db *DB) ListEnrollments(ctx context.Context, f aftercare.EnrollmentFilter) ([]*aftercare.EnrollmentSummary, error) {
	if f.ClinicID == 0 {
		return nil, invalid("listing enrollments needs a clinic")
	}
	if f.Limit < 0 {
		return nil, aftercare.FieldErrorf("limit", "the limit must not be negative, got %d", f.Limit)
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	var cond strings.Builder
	args := []any{f.ClinicID}
	if f.PatientID != 0 {
		cond.WriteString(` AND patient_id = ?`)
		args = append(args, f.PatientID)
	}
	if !f.Since.IsZero() {
		cond.WriteString(` AND created_at >= ?`)
		args = append(args, formatTime(f.Since))
	}
	if f.BeforeID != 0 {
		cond.WriteString(` AND id < ?`)
		args = append(args, f.BeforeID)
	}
	args = append(args, limit)
	q := strings.Replace(listEnrollments, "%s", cond.String(), 1)

	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError("list enrollments", err)
	}
	defer rows.Close()
	out := []*aftercare.EnrollmentSummary{}
	for rows.Next() {
		var e aftercare.Enrollment
		var p aftercare.Patient
		var planned []byte
		var plannedNext time.Time
		s := &aftercare.EnrollmentSummary{Enrollment: &e, Patient: &p}
		err := rows.Scan(&e.ID, &e.ClinicID, &e.PatientID, &e.ProtocolID, &e.ProtocolSlug, &e.ProtocolVersion,
			(*dbTime)(&e.TreatedAt), &e.Status, &e.Key, &e.Source, (*dbTime)(&e.CreatedAt), (*dbTime)(&e.UpdatedAt),
			(*dbTime)(&e.CancelledAt),
			&p.ID, &p.ClinicID, &p.Name, &p.Phone, &p.Email, &p.TZ, &p.Lang,
			(*dbTime)(&p.SMSConsent.At), &p.SMSConsent.Source, (*dbTime)(&p.EmailConsent.At), &p.EmailConsent.Source,
			(*dbTime)(&p.SMSOptOutAt), (*dbTime)(&p.EmailOptOut), (*dbTime)(&p.CreatedAt), (*dbTime)(&p.UpdatedAt),
			&s.Pending, &s.Done, &s.Problems, (*dbTime)(&s.NextSendAt), &planned, (*dbTime)(&plannedNext))
		if err != nil {
			return nil, dbError("list enrollments", err)
		}
		// Messages kept on the enrollment (plan.go) are pending too.
		kept, err := plannedCount(planned)
		if err != nil {
			return nil, dbError("list enrollments", fmt.Errorf("enrollment %d: %w", e.ID, err))
		}
		s.Pending += kept
		if !plannedNext.IsZero() && (s.NextSendAt.IsZero() || plannedNext.Before(s.NextSendAt)) {
			s.NextSendAt = plannedNext
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list enrollments", err)
	}
	if len(out) == 0 && f.PatientID != 0 {
		// Nothing, or not this clinic's patient: only the second is an error.
		var n int
		if err := db.reader.GetContext(ctx, &n, patientExists, f.ClinicID, f.PatientID); err != nil {
			return nil, dbError("list enrollments", err)
		}
		if n == 0 {
			return nil, notFound("no patient %d in this clinic", f.PatientID)
		}
	}
	return out, nil
}

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
	if limit < 0 {
		return nil, aftercare.FieldErrorf("limit", "the limit must not be negative, got %d", limit)
	}
	if limit == 0 {
		limit = DefaultListLimit
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
	rows, err := db.reader.QueryContext(ctx, searchPatients, clinicID, name, digits, email, limit)
	if err != nil {
		return nil, dbError("search patients", err)
	}
	defer rows.Close()
	ps := []*aftercare.Patient{}
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, dbError("search patients", err)
		}
		ps = append(ps, p)
	}
	return ps, dbError("search patients", rows.Err())
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
